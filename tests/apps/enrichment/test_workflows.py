"""Workflows end to end: a file lands → gazer watch → partitioned Parquet → gazer query;
the API connector's cursor across runs; a workflow that is only a config entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gazer.apps.enrichment import steps
from gazer.apps.enrichment.fixture import article_pages, load_fixture, write_jsonl
from gazer.apps.enrichment.workflows import build_workflow, load_workflows
from gazer.core.runner import Runner
from gazer.errors import InvalidPipeline
from tests.apps.enrichment.servers import api_handler, serve, site_handler


def gazer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false"}
    return subprocess.run([sys.executable, "-m", "gazer.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.integration
def test_a_landed_file_becomes_partitioned_parquet_that_sql_can_query(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serve(site_handler(article_pages())) as base:
        fixture = load_fixture(article_base=base)
        landed = home / "storage" / "landing" / "social" / "batch-1.jsonl"
        write_jsonl(fixture.drop(columns=["label_topics"]), landed)
        config = tmp_path / "watch.yaml"
        config.write_text("bindings:\n  - name: social\n    prefix: landing/social/\n"
                          "    pipeline: social-listening\n"
                          "    params: {ingest.path: '{path}'}\n")
        watched = gazer(home, "watch", "--config", str(config), "--once")
    assert watched.returncode == 0, watched.stderr[-3000:]
    assert "1 object(s) or schedule(s) handled" in watched.stdout
    out = gazer(home, "query", "--format", "json",
                "SELECT id, topic, source, lang, translation_status, sentiment, "
                "sentiment_pos, article_status, text_clean FROM enrichment.social_listening")
    assert out.returncode == 0, out.stderr[-2000:]
    rows = pd.DataFrame(json.loads(out.stdout))
    # every message is there once per topic; only the one exact duplicate was removed
    assert rows["id"].nunique() == len(fixture) - 1
    assert set(rows["source"]) == {"social", "news"}
    assert (rows.groupby("id")["topic"].nunique() >= 1).all()
    italian = rows[rows["lang"] == "it"]
    assert (italian["translation_status"] == "ok").mean() > 0.9
    enriched = rows[rows["article_status"] == "enriched"].drop_duplicates("id")
    assert len(enriched) == 4 and enriched["text_clean"].str.len().min() > 300
    grouped = gazer(home, "query", "SELECT topic, avg(sentiment_pos) FROM "
                    "enrichment.social_listening GROUP BY 1")
    assert grouped.returncode == 0 and "workplace" in grouped.stdout
    bad = gazer(home, "query", "SELECT nope FROM enrichment.social_listening")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


def test_the_api_connector_keeps_its_cursor_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SOCIAL_TOKEN", "s3cret")
    items = [{"id": f"m{i}", "text": f"message {i}", "created_at": f"2026-11-0{i}T10:00:00Z"}
             for i in range(1, 6)]
    handler = api_handler(items, page_size=2, fail_first=1)
    with serve(handler) as base:
        first = steps.ingest.fn(url=f"{base}/posts", source="social", token_env="SOCIAL_TOKEN")
        items.append({"id": "m6", "text": "message 6", "created_at": "2026-11-06T10:00:00Z"})
        second = steps.ingest.fn(url=f"{base}/posts", source="social", token_env="SOCIAL_TOKEN")
        third = steps.ingest.fn(url=f"{base}/posts", source="social", token_env="SOCIAL_TOKEN")
        monkeypatch.setenv("SOCIAL_TOKEN", "wrong")
        with pytest.raises(Exception, match="401"):
            steps.ingest.fn(url=f"{base}/posts", source="social", token_env="SOCIAL_TOKEN")
    assert list(first["id"]) == ["m1", "m2", "m3", "m4", "m5"]  # 3 pages, after one 503 retry
    assert list(second["id"]) == ["m6"] and len(third) == 0
    seen = handler.calls["seen"]  # type: ignore[attr-defined]
    assert any("since=2026-11-05T10%3A00%3A00Z" in p for p in seen)
    landing = tmp_path / "home" / "storage" / "landing" / "social"
    assert len(list(landing.glob("*.parquet"))) == 2  # one per run that found items
    assert len(list((landing / "raw").glob("*.json"))) >= 4
    assert json.loads((landing / "_cursor.json").read_text()) == {
        "since": "2026-11-06T10:00:00Z"}


def test_a_new_workflow_is_a_config_entry(
    make_runner: Callable[..., Runner], settings: object, tmp_path: Path,
) -> None:
    home = settings.home  # type: ignore[attr-defined]
    home.mkdir(parents=True, exist_ok=True)
    (home / "workflows.yaml").write_text(
        "workflows:\n  complaints:\n    steps:\n      - ingest_files: {source: mail}\n"
        "      - clean_noise\n      - score_sentiment\n"
        "      - {step: classify_topics, as: aspects, params: {labels: review_aspects}}\n"
        "      - write_partitioned: {table: complaints}\n")
    flows = load_workflows(home)
    assert {"social-listening", "multilingual", "reviews", "complaints"} <= set(flows)
    pipeline = build_workflow("complaints", flows["complaints"])
    data = tmp_path / "mail.csv"
    pd.DataFrame({"text": ["The staff were rude and slow", "Great price, kind people",
                           "The staff were rude and slow"]}).to_csv(data, index=False)
    record = make_runner().run(pipeline, {"ingest_files.path": str(data)})
    assert record.status == "succeeded", record.error
    written = list((home / "storage" / "curated" / "enrichment" / "complaints").rglob("*.parquet"))
    rows = pd.concat(pd.read_parquet(p) for p in written)
    assert rows["id"].nunique() == 2  # the exact duplicate was removed (and logged)
    with pytest.raises(InvalidPipeline, match="no step 'translat' in the catalogue"):
        build_workflow("x", {"steps": ["ingest_files", "translat"]})
    with pytest.raises(InvalidPipeline, match="must start with a source step"):
        build_workflow("x", {"steps": ["clean_noise"]})
