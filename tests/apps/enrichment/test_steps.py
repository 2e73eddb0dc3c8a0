"""Each enrichment step on small frames, including rows it cannot process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from gazer.apps.enrichment import steps
from gazer.apps.enrichment.labels import label_set
from gazer.apps.enrichment.messages import normalise, reconcile
from gazer.apps.enrichment.sources import Fetcher
from gazer.apps.enrichment.translate import installed_pairs, plan
from gazer.errors import InvalidInput
from tests.apps.enrichment.servers import serve, site_handler


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"


def frame(*texts: str, **columns: list[object]) -> pd.DataFrame:
    return normalise([{"text": t, **{k: v[i] for k, v in columns.items()}}
                      for i, t in enumerate(texts)], source="test")


def test_normalise_fills_ids_times_and_names_a_missing_text_column() -> None:
    f = normalise([{"body": "Hello", "link": "http://x", "date": "2026-11-02T10:00:00+01:00"},
                   {"text": "Bye", "id": "b"}], source="s")
    assert list(f["text"]) == ["Hello", "Bye"] and f.loc[1, "id"] == "b"
    assert len(f.loc[0, "id"]) == 16 and f.loc[0, "url"] == "http://x"
    assert str(f.loc[0, "created_at"]) == "2026-11-02 09:00:00+00:00"
    with pytest.raises(InvalidInput, match="need a text column .* got columns a, b"):
        normalise([{"a": 1, "b": 2}])
    reconcile(f, f.iloc[::-1], "noop")
    with pytest.raises(RuntimeError, match="lost 1 of 2 rows"):
        reconcile(f, f.iloc[:1], "lossy")


def test_language_detection_with_confidence_and_given_languages_kept() -> None:
    f = frame("Il servizio clienti è lentissimo e nessuno risponde alle email",
              "The battery lasts two days and the camera is great",
              "", lang=["", "", ""])
    f.loc[1, "lang"] = "en"
    out = steps.detect_language.fn(f, languages="it,en,fr")
    assert list(out["lang"]) == ["it", "en", ""]
    assert out.loc[0, "lang_confidence"] > 0.9 and out.loc[2, "lang_confidence"] == 0.0


@pytest.mark.skipif(not installed_pairs(), reason="Apertium is not installed")
def test_translation_pivots_through_catalan_and_flags_what_it_cannot_translate() -> None:
    assert plan("it") == (["ita-cat", "cat-eng"], "")
    assert plan("fr") == (["fra-cat", "cat-eng"], "")
    f = frame("Il telefono è nuovo", "Le téléphone est nouveau", "Simu ni mpya", "It is new",
              "???", lang=["it", "fr", "sw", "en", ""])
    out = steps.translate.fn(f, target="en")
    assert len(out) == 5
    assert "telephone" in out.loc[0, "text_en"].lower() and out.loc[0, "translation_status"] == "ok"
    assert out.loc[0, "translation_route"] == "ita-cat → cat-eng"
    assert "phone" in out.loc[1, "text_en"].lower()
    assert out.loc[2, "text_en"] == "Simu ni mpya"
    assert out.loc[2, "translation_status"].startswith("untranslated: no Apertium pair swa-eng")
    assert out.loc[3, "translation_status"] == "same"
    assert out.loc[4, "translation_status"] == "untranslated: language unknown"
    only_it = steps.translate.fn(f, target="en", languages="it")
    assert only_it.loc[1, "translation_status"] == "untranslated: fr not in languages=it"


def test_noise_goes_into_columns_and_duplicates_are_flagged_then_dropped() -> None:
    f = frame("omg u r gr8 😍 @lumio https://x.example/a #happy",
              "omg u r gr8 😍 @lumio https://x.example/a #happy", "It's fine", lang=["en"] * 3)
    kept = steps.clean_noise.fn(f, drop_duplicates=False)
    assert kept.loc[0, "text_clean"] == "oh my god you are great happy"
    assert kept.loc[0, "urls"] == ["https://x.example/a"] and kept.loc[0, "handles"] == ["@lumio"]
    assert kept.loc[0, "emojis"] == ["😍"] and kept.loc[0, "hashtags"] == ["happy"]
    assert kept.loc[2, "text_clean"] == "it is fine"
    assert kept.loc[1, "duplicate_of"] == kept.loc[0, "id"] and kept.loc[0, "duplicate_of"] == ""
    dropped = steps.clean_noise.fn(f)
    assert len(dropped) == 2 and len(kept) == 3


def test_articles_are_enriched_when_the_page_is_longer_and_robots_are_respected() -> None:
    long = "<html><body><nav>menu</nav><article>" + "".join(
        f"<p>Lumio reported paragraph {i} of a long article about record results.</p>"
        for i in range(12)) + "</article></body></html>"
    pages = {"/news/1.html": long, "/private/2.html": long, "/news/short.html":
             "<html><body><article><p>Tiny.</p></article></body></html>"}
    with serve(site_handler(pages, robots="User-agent: *\nDisallow: /private/\n")) as base:
        f = frame("Lumio reported record results.", "Lumio reported record results.",
                  "Lumio reported record results, with a long teaser that is long.", "a post",
                  "gone", kind=["article", "article", "article", "post", "article"],
                  url=[f"{base}/news/1.html", f"{base}/private/2.html",
                       f"{base}/news/short.html", f"{base}/news/1.html", f"{base}/news/404"])
        out = steps.enrich_articles.fn(f, timeout_s=5)
        small = steps.enrich_articles.fn(f.iloc[:1], max_bytes=100)
    assert list(out["article_status"][:4]) == ["enriched", "robots", "kept: page text not longer",
                                               ""]
    assert "paragraph 11" in out.loc[0, "text_clean"]
    assert out.loc[4, "article_status"].startswith("error") and len(out) == 5
    assert small.loc[0, "article_status"] == "too-large"
    assert not Fetcher().allowed("http://127.0.0.1:9/x")  # unreachable robots: not allowed


def test_topics_sentiment_emotion_keywords_and_summaries() -> None:
    f = frame("Lumio is laying off 800 employees at the plant, awful news for the workers.",
              "Lumio revenue and profit grew, the share price is at a record high.",
              "", lang=["en", "en", "en"])
    out = steps.classify_topics.fn(f)
    assert "workplace" in out.loc[0, "topics"] and "performance" in out.loc[1, "topics"]
    assert out.loc[2, "topics"] == [] or len(out) == 3
    out = steps.score_sentiment.fn(out)
    assert out.loc[0, "sentiment"] == "negative" and out.loc[1, "sentiment"] == "positive"
    assert out.loc[2, "sentiment"] == "neutral"
    out = steps.score_emotion.fn(out)
    shares = out[[f"emotion_{e}" for e in ("joy", "optimism", "anger", "sadness")]].sum(axis=1)
    assert (shares.round(6) == 1).all() and out.loc[0, "emotion"] in {"anger", "sadness"}
    out = steps.extract_keywords.fn(out, top=3)
    assert 0 < len(out.loc[0, "keywords"]) <= 3 and out.loc[2, "keywords"] == []
    text = " ".join(f"Sentence number {i} talks about the Lumio phone and its battery." for i in
                    range(20))
    summed = steps.summarize.fn(pd.concat([out, frame(text, lang=["en"])], ignore_index=True),
                                min_chars=300)
    assert summed.loc[3, "summary_status"] == "summarised" and summed.loc[3, "summary"]
    assert summed.loc[0, "summary"] == "" and summed.loc[0, "summary_status"].startswith("shorter")


def test_supervised_topics_from_labelled_examples(tmp_path: Path) -> None:
    examples = pd.DataFrame({
        "text": ["the price is too high", "so expensive", "cheap and good value",
                 "the staff were rude", "friendly and kind staff", "very polite people"] * 3,
        "labels": ["price", "price", "price", "kindness", "kindness", "kindness"] * 3})
    path = tmp_path / "examples.csv"
    examples.to_csv(path, index=False)
    out = steps.classify_topics.fn(frame("It costs far too much money", "The waiter was nasty"),
                                   labels="review_aspects", examples_path=str(path))
    assert out.loc[0, "topics"] == ["price"] and out.loc[1, "topics"] == ["kindness"]
    with pytest.raises(ValueError, match="labels must be one of company, themes"):
        label_set("nonsense")
    assert label_set(json.dumps({"a": "about a"})) == {"a": "about a"}


def test_partitioned_parquet_explodes_topics_and_rewrites_the_same_files(home: Path) -> None:
    f = frame("a", "b", "c", created_at=["2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z",
                                         "2026-11-02T10:00:00Z"])
    f["topics"] = [["products", "workplace"], [], ["products"]]
    first = steps.write_partitioned.fn(f, table="t")
    again = steps.write_partitioned.fn(f, table="t")
    assert first["rows"] == 4 and first["messages"] == 3 and first["files"] == again["files"]
    assert sorted(k.split("/t/")[1].rsplit("/", 1)[0] for k in first["files"]) == [
        "source=test/topic=none/date=2026-11-01", "source=test/topic=products/date=2026-11-01",
        "source=test/topic=products/date=2026-11-02",
        "source=test/topic=workplace/date=2026-11-01"]
    parts = list((home / "storage" / "curated" / "enrichment" / "t").rglob("*.parquet"))
    assert len(parts) == 4
