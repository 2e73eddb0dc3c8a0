"""The step catalogue: each step takes the ``messages`` frame and returns it with more columns.

Rows a step cannot process are kept and flagged (a ``*_status`` column says why); the one
removal (``clean_noise``'s exact duplicates) is counted and the removed ids are logged. Each
step's output is a Parquet artifact, so there is no payload limit between steps and a failed
run resumes from the last good step.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gazer.apps.enrichment import feedback, nlp
from gazer.apps.enrichment.labels import label_set
from gazer.apps.enrichment.messages import normalise
from gazer.apps.enrichment.sources import Fetcher, pull_api, read_files
from gazer.apps.enrichment.text import clean
from gazer.apps.enrichment.translate import plan
from gazer.apps.enrichment.translate import translate as apertium
from gazer.core.context import current, current_settings
from gazer.core.step import Step, step
from gazer.db import open_database
from gazer.errors import InvalidInput
from gazer.monitoring.predictions import MODES, write_now
from gazer.storage.resolve import storage_from_settings


def _storage() -> Any:
    return storage_from_settings(current_settings())


def _text(messages: pd.DataFrame) -> pd.Series:
    """The best text so far: cleaned, else translated, else the original."""
    for column in ("text_clean", "text_en", "text"):
        if column in messages.columns:
            return messages[column].fillna("").astype(str)
    raise InvalidInput("messages have no text column")


def _stamp() -> str:
    """A sortable, unique batch name: UTC time to the microsecond plus a random suffix."""
    import datetime as dt
    import uuid

    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"


def _write_landing(frame: pd.DataFrame, source: str, raw: list[bytes]) -> str:
    storage = _storage()
    stamp = _stamp()
    for i, page in enumerate(raw):
        storage.write_bytes(f"landing/{source}/raw/{stamp}-{i:04d}.json", page)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    key = f"landing/{source}/{stamp}.parquet"
    storage.write_bytes(key, buf.getvalue())
    return key


def _fixture(name: str) -> pd.DataFrame:
    """``fixture:posts`` (the hand-made labelled posts and articles) or ``fixture:reviews``
    (vaderSentiment's 300 Amazon reviews), for the demo and the benchmark."""
    if name == "posts":
        from gazer.apps.enrichment.fixture import load_fixture

        return load_fixture()
    if name == "reviews":
        from gazer.apps.summarizer.data import load_corpus

        docs = load_corpus(current_settings().home.resolve() / "cache" / "vader")
        reviews = docs[docs["source"] == "amazon"]
        return pd.DataFrame({"id": reviews["doc_id"], "source": "amazon", "kind": "review",
                             "text": reviews["text"], "lang": "en",
                             "rating": reviews["rating"],
                             "created_at": [f"2026-11-{1 + i % 14:02d}T12:00:00Z"
                                            for i in range(len(reviews))]})
    raise InvalidInput(f"fixture must be fixture:posts or fixture:reviews; got fixture:{name}")


def _read_path(path: str) -> tuple[bytes, str]:
    """A local file, a ``scheme://`` URL, a key in gazer's storage, or ``fixture:NAME``."""
    if path.startswith("fixture:"):
        buf = io.BytesIO()
        _fixture(path.partition(":")[2]).to_parquet(buf, index=False)
        return buf.getvalue(), f"{path}.parquet"
    if "://" in path:
        import fsspec

        with fsspec.open(path, "rb") as handle:
            return handle.read(), path
    local = Path(path).expanduser()
    if local.exists():
        return local.read_bytes(), str(local)
    storage = _storage()
    if storage.exists(path):
        return storage.read_bytes(path), path
    raise InvalidInput(f"no file at {path!r} (a local path, a URL, or a storage key)")


@step(outputs="messages")
def ingest(url: str = "", path: str = "", source: str = "api", token_env: str = "",  # nosec B107 # token_env names an environment variable; no token here
           header: str = "Authorization", max_pages: int = 100) -> pd.DataFrame:
    """Pull new items from a JSON API (cursor kept between runs) or read a landed file.

    With ``url``: items newer than the stored cursor, raw pages and a normalised Parquet
    written to ``landing/<source>/``; the token comes from the environment variable
    ``token_env``. With ``path``: that JSON/CSV/Parquet file (what ``gazer watch`` passes).
    """
    if bool(url) == bool(path):
        raise InvalidInput(f"ingest needs exactly one of url= (an API) or path= (a file); "
                           f"got url={url!r}, path={path!r}")
    ctx = current()
    if path:
        return ingest_files.fn(path=path, source=source)
    storage = _storage()
    cursor_key = f"landing/{source}/_cursor.json"
    cursor = json.loads(storage.read_bytes(cursor_key))["since"] if storage.exists(
        cursor_key) else None
    items, pages, newest = pull_api(url, cursor=cursor, token=os.environ.get(token_env, "")
                                    if token_env else "", header=header, max_pages=max_pages)
    frame = normalise(items, source)
    if len(frame):
        key = _write_landing(frame, source, pages)
        ctx.log_params({"ingest.landing": key})
    if newest:
        storage.write_bytes(cursor_key, json.dumps({"since": newest}).encode())
    ctx.log_metrics({"ingest.items": float(len(frame)), "ingest.pages": float(len(pages))})
    print(f"{len(frame)} new items in {len(pages)} pages since {cursor or 'the beginning'}")
    return frame


@step(outputs="messages")
def ingest_files(path: str = "", source: str = "files") -> pd.DataFrame:
    """JSON (list or ``{"items": [...]}``), JSON lines, CSV or Parquet messages."""
    if not path:
        raise InvalidInput("ingest_files needs path= (a file, a URL, or a storage key)")
    data, where = _read_path(path)
    frame = normalise(read_files(data, where), source)
    current().log_metric("ingest.items", float(len(frame)))
    print(f"{len(frame)} messages from {where}")
    return frame


@step(outputs="messages")
def detect_language(messages: pd.DataFrame, languages: str = "",
                    trust_given: bool = True) -> pd.DataFrame:
    """``lang_detected`` and ``lang_confidence`` per message (langid); ``lang`` filled in.

    ``languages`` ("it,en,fr") restricts langid to those; a ``lang`` the source gave is kept
    when ``trust_given``.
    """
    out = messages.copy()
    found = nlp.detect(_text(out).tolist(), [s for s in languages.split(",") if s])
    out["lang_detected"] = [lang for lang, _ in found]
    out["lang_confidence"] = [prob for _, prob in found]
    given = out["lang"].fillna("").astype(str)
    out["lang"] = np.where((given != "") & trust_given, given, out["lang_detected"])
    current().log_metrics({f"lang.{k}": float(v) for k, v in out["lang"].value_counts().items()
                           if k})
    return out


@step(outputs="messages")
def translate(messages: pd.DataFrame, target: str = "en", languages: str = "") -> pd.DataFrame:
    """``text_en`` via Apertium (through Catalan when no direct pair); untranslatable rows keep
    their text and say why in ``translation_status``. ``languages`` limits what is translated.
    """
    out = messages.copy()
    out["text_en"] = out["text"]
    out["translation_status"] = "same"
    out["translation_route"] = ""
    wanted = {s for s in languages.split(",") if s}
    for lang, index in out.groupby(out["lang"].fillna("")).groups.items():
        if lang == target:
            continue
        if not lang or (wanted and lang not in wanted):
            out.loc[index, "translation_status"] = (
                "untranslated: language unknown" if not lang else
                f"untranslated: {lang} not in languages={languages}")
            continue
        route, reason = plan(lang, target)
        if not route:
            out.loc[index, "translation_status"] = f"untranslated: {reason}"
            continue
        try:
            out.loc[index, "text_en"] = apertium(out.loc[index, "text"].tolist(), route)
            out.loc[index, "translation_status"] = "ok"
            out.loc[index, "translation_route"] = " → ".join(route)
        except (RuntimeError, OSError) as exc:
            out.loc[index, "translation_status"] = f"untranslated: {exc}"[:300]
    current().log_metrics({f"translation.{k.split(':')[0]}": float(v)
                           for k, v in out["translation_status"].value_counts().items()})
    return out


@step(outputs="messages")
def clean_noise(messages: pd.DataFrame, drop_duplicates: bool = True) -> pd.DataFrame:
    """``text_clean`` plus ``urls``, ``handles``, ``hashtags``, ``emojis``; exact duplicates
    (same source and cleaned text) flagged in ``duplicate_of`` and, by default, removed with
    their ids logged as ``duplicates.csv``."""
    out = messages.copy()
    english = (out.get("lang", pd.Series("", index=out.index)).fillna("") == "en") | (
        out.get("translation_status", pd.Series("", index=out.index)) == "ok")
    source_text = out["text_en"] if "text_en" in out.columns else out["text"]
    parts = [clean(str(t), bool(e)) for t, e in zip(source_text, english, strict=True)]
    for column in ("text_clean", "urls", "handles", "hashtags", "emojis"):
        out[column] = [p[column] for p in parts]
    key = out["source"].astype(str) + "\x00" + out["text_clean"].str.lower()
    first = out.groupby(key)["id"].transform("first")
    out["duplicate_of"] = np.where(first != out["id"], first, "")
    dupes = out[out["duplicate_of"] != ""]
    ctx = current()
    ctx.log_metric("duplicates", float(len(dupes)))
    if drop_duplicates and len(dupes):
        ctx.log_text(dupes[["id", "duplicate_of", "source"]].to_csv(index=False),
                     "duplicates.csv")
        out = out[out["duplicate_of"] == ""].reset_index(drop=True)
        print(f"{len(dupes)} exact duplicates removed (ids in duplicates.csv)")
    return out


@step(outputs="messages")
def enrich_articles(messages: pd.DataFrame, min_gain: float = 0.2, timeout_s: float = 10.0,
                    max_bytes: int = 2_000_000) -> pd.DataFrame:
    """Article rows with a URL: fetch the page (robots.txt respected), use its main text
    when it is at least ``min_gain`` longer than the message."""
    out = messages.copy()
    out["article_status"] = ""
    if "text_clean" not in out.columns:
        out["text_clean"] = _text(out)
    fetcher = Fetcher(timeout_s, max_bytes)
    rows = out.index[(out["kind"] == "article") & out["url"].str.startswith("http")]
    for i in rows:
        text, status = fetcher.main_text(out.at[i, "url"])
        if status == "ok" and len(text) >= (1 + min_gain) * len(out.at[i, "text_clean"]):
            out.at[i, "text_clean"] = " ".join(text.split())
            status = "enriched"
        elif status == "ok":
            status = "kept: page text not longer"
        out.at[i, "article_status"] = status
    current().log_metric("articles.enriched", float((out["article_status"] == "enriched").sum()))
    return out


def _classify(messages: pd.DataFrame, column: str, labels: str, threshold: float,
              examples_path: str) -> pd.DataFrame:
    out = messages.copy()
    names = label_set(labels)
    examples = None
    if examples_path:
        data, where = _read_path(examples_path)
        examples = read_files(data, where)
        examples["labels"] = examples["labels"].map(
            lambda v: v if isinstance(v, list) else [s for s in str(v).split("|") if s])
    chosen, scores = nlp.multilabel(nlp.embed(_text(out).tolist()), names, threshold, examples)
    out[column] = chosen
    out[f"{column}_score"] = scores.max(axis=1) if scores.size else []
    if column == "topics":  # what a "wrong topic" correction may name
        out.attrs[feedback.CHOICES_ATTR] = list(names)
    counts: dict[str, float] = {}
    for picked in chosen:
        for name in picked:
            counts[name] = counts.get(name, 0.0) + 1
    current().log_metrics({f"{column}.{k.replace(' ', '_')}": v for k, v in counts.items()})
    return out


@step(outputs="messages")
def classify_topics(messages: pd.DataFrame, labels: str = "company", threshold: float = 0.2,
                    examples_path: str = "") -> pd.DataFrame:
    """``topics``: multi-label by MiniLM similarity to label descriptions (``labels`` names a
    built-in set or is JSON ``{"name": "description"}``); supervised with ``examples_path``."""
    return _classify(messages, "topics", labels, threshold, examples_path)


@step(outputs="messages")
def classify_themes(messages: pd.DataFrame, labels: str = "themes", threshold: float = 0.2,
                    examples_path: str = "") -> pd.DataFrame:
    """``themes``: the same classifier over the theme set."""
    return _classify(messages, "themes", labels, threshold, examples_path)


@step(outputs="messages")
def score_sentiment(messages: pd.DataFrame) -> pd.DataFrame:
    """VADER ``sentiment_neg``/``_neu``/``_pos``/``_compound`` and a ``sentiment`` label
    (English text: the translation where there is one)."""
    out = messages.copy()
    scores = nlp.sentiment(_text(out).tolist())
    for key in ("neg", "neu", "pos", "compound"):
        out[f"sentiment_{key}"] = [s[key] for s in scores]
    out["sentiment"] = np.select([out["sentiment_compound"] >= 0.05,
                                  out["sentiment_compound"] <= -0.05],
                                 ["positive", "negative"], "neutral")
    return out


@step(outputs="messages")
def score_emotion(messages: pd.DataFrame) -> pd.DataFrame:
    """``emotion_joy``/``_optimism``/``_anger``/``_sadness`` (zero-shot MiniLM, shares that
    sum to 1) and the top ``emotion``."""
    out = messages.copy()
    shares = nlp.emotions(nlp.embed(_text(out).tolist()))
    names = list(nlp.EMOTIONS)
    for i, name in enumerate(names):
        out[f"emotion_{name}"] = shares[:, i] if len(out) else []
    out["emotion"] = [names[i] for i in shares.argmax(axis=1)] if len(out) else []
    return out


@step(outputs="messages")
def extract_keywords(messages: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """``keywords``: YAKE key phrases of each message, in its (translated) language."""
    out = messages.copy()
    english = out.get("translation_status", pd.Series("", index=out.index)) == "ok"
    langs = np.where(english, "en", out["lang"].fillna("en").replace("", "en"))
    out["keywords"] = nlp.keywords_many(_text(out).tolist(), [str(x) for x in langs], top)
    return out


@step(outputs="messages")
def summarize(messages: pd.DataFrame, min_chars: int = 600, ratio: float = 0.0) -> pd.DataFrame:
    """``summary`` of texts over ``min_chars`` with the summarizer app's model; shorter texts
    get an empty summary and ``summary_status`` says so."""
    from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig

    out = messages.copy()
    model = ClusterSummarizer(SummarizerConfig(ratio=ratio or None))
    texts = _text(out)
    long = texts.str.len() >= min_chars
    out["summary"] = ""
    out["summary_status"] = np.where(long, "summarised", f"shorter than {min_chars} chars")
    for i in out.index[long]:
        out.at[i, "summary"] = model.summarize(texts[i]).text
    current().log_metric("summaries", float(long.sum()))
    return out


@step(outputs="written", cache=False)
def write_partitioned(messages: pd.DataFrame, table: str = "messages",
                      prefix: str = "curated/enrichment", log_predictions: bool = True,
                      log_payloads: str = "full") -> dict[str, Any]:
    """Parquet under ``<prefix>/<table>/source=/topic=/date=``, one row per (message, topic):
    list-valued topics exploded (no topic → ``none``); each file written atomically and named
    by its content, so a re-run rewrites the same files instead of adding copies. With
    ``log_predictions`` the topics and sentiments go to the prediction log too
    (``log_payloads``: full, summary or none), and each row carries the request ids a
    "wrong topic / sentiment" mark refers to."""
    import hashlib

    if log_payloads not in MODES:
        raise InvalidInput(f"log_payloads must be one of {', '.join(MODES)}, not "
                           f"{log_payloads!r}")
    choices = messages.attrs.get(feedback.CHOICES_ATTR)
    frame = messages.copy()
    if "topics" not in frame.columns:
        frame["topics"] = [[] for _ in range(len(frame))]
    frame["topic"] = frame["topics"].map(lambda t: list(t) if len(t) else ["none"])
    frame = frame.explode("topic").reset_index(drop=True)
    frame["date"] = pd.to_datetime(frame["created_at"], utc=True).dt.strftime("%Y-%m-%d")
    if log_predictions:
        frame = feedback.add_request_ids(frame, table)
        logged = feedback.answers(frame, table, _text(frame), log_payloads, choices)
    for column in frame.columns:  # lists and mixed objects as JSON text
        if frame[column].dtype == object and frame[column].map(
                lambda v: isinstance(v, list | dict | np.ndarray)).any():
            frame[column] = frame[column].map(
                lambda v: json.dumps(list(v) if isinstance(v, np.ndarray) else v,
                                     ensure_ascii=False))
    storage = _storage()
    keys = []
    for (source, topic, date), part in frame.groupby(["source", "topic", "date"], sort=True):
        buf = io.BytesIO()
        part.drop(columns=["source", "topic", "date"]).to_parquet(buf, index=False)
        data = buf.getvalue()
        name = hashlib.sha256(data).hexdigest()[:16]
        key = (f"{prefix}/{table}/source={_safe(source)}/topic={_safe(topic)}/"
               f"date={date}/part-{name}.parquet")
        storage.write_bytes(key, data)
        keys.append(key)
    messages_in = int(messages["id"].nunique())
    ctx = current()
    ctx.log_metrics({"written.rows": float(len(frame)), "written.files": float(len(keys)),
                     "written.messages": float(messages_in)})
    if log_predictions:  # after the files: the log holds only answers a query can show
        db, owned = open_database(current_settings().runs_url)
        try:
            added = write_now(db, logged, storage=storage)
        finally:
            if owned:
                db.close()
        ctx.log_metric("logged.predictions", float(added))
        print(f"logged {added} new answers of {len(logged)} under enrichment.{table}.topic "
              f"and .sentiment (request ids in topic_request_id, sentiment_request_id)")
    print(f"{messages_in} messages → {len(frame)} rows in {len(keys)} files under "
          f"{prefix}/{table}/")
    return {"table": table, "prefix": f"{prefix}/{table}", "rows": len(frame),
            "messages": messages_in, "files": keys}


def _safe(value: Any) -> str:
    return str(value).replace("/", "_").replace("=", "_") or "none"


CATALOGUE: dict[str, Step] = {s.name: s for s in (
    ingest, ingest_files, detect_language, translate, clean_noise, enrich_articles,
    classify_topics, classify_themes, score_sentiment, score_emotion, extract_keywords,
    summarize, write_partitioned)}

