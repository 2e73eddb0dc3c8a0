"""The hand-made labelled fixture: 151 short posts (English, Italian, French, Catalan,
Swahili) and 4 articles about a fictional company, with language, topic and sentiment labels.

Not real data: written for gazer's tests, demo and accuracy figures, because no labelled
multilingual social-media set is packaged anywhere here. Label columns are ``label_lang``,
``label_topics`` and ``label_sentiment``; ``lang`` is left empty so detection has work to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

DATA = Path(__file__).with_name("data")
START = pd.Timestamp("2026-11-01T08:00:00Z")


def load_fixture(article_base: str = "") -> pd.DataFrame:
    """Posts and articles as a message frame; article URLs under ``article_base`` (a test
    server), or none when it is empty."""
    posts = pd.read_csv(DATA / "posts.tsv", sep="\t", comment="#", dtype=str)
    rows = []
    for i, post in enumerate(posts.itertuples(index=False)):
        rows.append({"id": f"post-{i:03d}", "source": "social", "kind": "post",
                     "text": post.text, "title": "", "url": "",
                     "created_at": (START + pd.Timedelta(hours=2 * i)).isoformat(),
                     "label_lang": post.lang, "label_topics": post.topics.split("|"),
                     "label_sentiment": post.sentiment})
    articles = json.loads((DATA / "articles.json").read_text())["items"]
    for i, art in enumerate(articles):
        rows.append({"id": f"article-{i}", "source": "news", "kind": "article",
                     "text": art["text"], "title": art["title"],
                     "url": f"{article_base.rstrip('/')}/articles/{i}.html" if article_base else "",
                     "created_at": (START + pd.Timedelta(days=3 * i, hours=5)).isoformat(),
                     "label_lang": art["lang"], "label_topics": art["topics"],
                     "label_sentiment": art["sentiment"]})
    return pd.DataFrame(rows).assign(lang="")


def article_pages() -> dict[str, str]:
    """``/articles/N.html`` → a full HTML page, for a test server."""
    articles = json.loads((DATA / "articles.json").read_text())["items"]
    return {f"/articles/{i}.html": (
        f"<html><head><title>{a['title']}</title></head><body><nav>Home | News | Contact"
        f"</nav><article><h1>{a['title']}</h1>"
        + "".join(f"<p>{s.strip()}.</p>" for s in a["page"].split(". ") if s.strip())
        + "</article><footer>© Example News</footer></body></html>")
        for i, a in enumerate(articles)}


def write_jsonl(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_json(tmp, orient="records", lines=True, force_ascii=False, date_format="iso")
    tmp.replace(path)
    return path
