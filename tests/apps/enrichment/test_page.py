"""The enrichment query API, chart and page over tables a workflow step wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gazer.apps.enrichment import feedback, steps
from gazer.apps.enrichment.messages import normalise
from gazer.serving.app import create_app
from tests.serving.factory import settings_for


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    settings = settings_for(tmp_path)
    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    frame = normalise([{"text": f"m{i}", "source": "social",
                        "created_at": f"2026-11-0{1 + i % 3}T10:00:00Z"} for i in range(9)])
    frame["topics"] = [["products"], ["workplace"], []] * 3
    frame["sentiment_pos"] = [0.5, 0.0, 0.1] * 3
    frame["sentiment_compound"] = [0.6, -0.5, 0.0] * 3
    frame["sentiment"] = ["positive", "negative", "neutral"] * 3
    frame.attrs[feedback.CHOICES_ATTR] = ["products", "workplace", "billing"]
    steps.write_partitioned.fn(frame, table="social_listening")
    with TestClient(create_app(settings, endpoints=[])) as c:
        yield c


def test_sql_over_the_written_tables(client: TestClient) -> None:
    r = client.post("/api/enrichment/query", json={
        "sql": "SELECT topic, count(*) AS n, avg(sentiment_pos) AS pos FROM "
               "enrichment.social_listening GROUP BY 1 ORDER BY 1"})
    assert r.status_code == 200, r.text
    assert r.json()["columns"] == ["topic", "n", "pos"]
    assert r.json()["rows"] == [["none", 3, pytest.approx(0.1)], ["products", 3, 0.5],
                                ["workplace", 3, 0.0]]
    limited = client.post("/api/enrichment/query", json={
        "sql": "SELECT * FROM enrichment.social_listening", "limit": 2}).json()
    assert len(limited["rows"]) == 2 and limited["truncated"] is True
    assert {"source", "topic", "date", "text"} <= set(limited["columns"])


def test_a_row_of_a_query_result_can_be_marked_wrong_topic_or_sentiment(
        client: TestClient, tmp_path: Path) -> None:
    from gazer.db import Database
    from gazer.monitoring.readout import quality

    r = client.post("/api/enrichment/query", json={
        "sql": "SELECT id, topic, sentiment, topic_request_id, sentiment_request_id FROM "
               "enrichment.social_listening WHERE topic = 'products' ORDER BY id"})
    assert r.status_code == 200, r.text
    rows = [dict(zip(r.json()["columns"], row, strict=True)) for row in r.json()["rows"]]
    assert len(rows) == 3 and all(row["topic_request_id"].startswith("t-") for row in rows)
    wrong = client.post("/v2/feedback", json={"request_id": rows[0]["topic_request_id"],
                                              "correct": False, "comment": "wrong topic",
                                              "label": "billing"})
    assert wrong.status_code == 200, wrong.text
    assert wrong.json()["endpoint"] == "enrichment.social_listening.topic"
    assert wrong.json()["answer"] == "products"
    right = client.post("/v2/feedback", json={"request_id": rows[1]["topic_request_id"],
                                              "correct": True})
    assert right.status_code == 200
    # a correction must name a label the classifier could have given
    unknown = client.post("/v2/feedback", json={"request_id": rows[2]["topic_request_id"],
                                                "label": "weather"})
    assert unknown.status_code == 422 and "billing" in unknown.json()["detail"]
    angry = client.post("/v2/feedback", json={"request_id": rows[0]["sentiment_request_id"],
                                              "label": "angry"})
    assert angry.status_code == 422 and "neutral" in angry.json()["detail"]
    sentiment = client.post("/v2/feedback", json={
        "request_id": rows[0]["sentiment_request_id"], "label": "neutral",
        "comment": "wrong sentiment"})
    assert sentiment.status_code == 200 and sentiment.json()["answer"] == "positive"

    db = Database(client.app.state.gazer.settings.runs_url)  # type: ignore[attr-defined]
    report = quality(db, "enrichment.social_listening.topic")
    [batch] = report["versions"]
    assert batch["role"] == "batch" and batch["predictions"] == 9  # one per message and topic
    assert (batch["accuracy"]["n"], batch["accuracy"]["value"]) == (2, 0.5)
    assert quality(db, "enrichment.social_listening.sentiment")["versions"][0][
        "predictions"] == 9
    db.close()


def test_rewriting_a_table_logs_no_answer_twice(client: TestClient) -> None:
    from gazer.db import Database
    from gazer.monitoring.predictions import recent

    settings = client.app.state.gazer.settings  # type: ignore[attr-defined]
    frame = normalise([{"text": "again", "source": "social",
                        "created_at": "2026-11-01T10:00:00Z"}])
    frame["topics"] = [["products"]]
    frame["sentiment"] = ["positive"]
    db = Database(settings.runs_url)
    before = len(recent(db, limit=1000))
    for _ in range(2):
        steps.write_partitioned.fn(frame, table="again")
    assert len(recent(db, limit=1000)) == before + 2  # its topic and its sentiment, once
    db.close()


def test_query_errors_name_the_tables(client: TestClient) -> None:
    bad = client.post("/api/enrichment/query", json={"sql": "SELECT * FROM enrichment.nope"})
    assert bad.status_code == 422
    assert "enrichment.social_listening" in bad.json()["detail"]
    empty = client.post("/api/enrichment/query", json={"sql": ""})
    assert empty.status_code == 422


def test_the_chart_and_the_page(client: TestClient) -> None:
    png = client.get("/api/enrichment/sentiment.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert client.get("/api/enrichment/sentiment.png", params={"table": "x;drop"}).status_code \
        == 422
    page = client.get("/apps/enrichment")
    assert page.status_code == 200 and "enrichment.social_listening" in page.text


@pytest.mark.integration
def test_sql_over_tables_written_to_s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    import uuid

    from gazer.apps.enrichment.query import run_query
    from gazer.settings import get_settings
    from gazer.sql import QuerySandbox
    from gazer.storage.resolve import storage_from_settings

    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GAZER_STORAGE__URI", f"s3://enrich-{uuid.uuid4().hex[:8]}/gazer")
    monkeypatch.setenv("GAZER_STORAGE__ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("GAZER_STORAGE__KEY", "k")
    monkeypatch.setenv("GAZER_STORAGE__SECRET", "s")
    frame = normalise([{"text": f"m{i}", "source": "social" if i % 2 else "news",
                        "created_at": f"2026-11-0{1 + i % 2}T10:00:00Z"} for i in range(6)])
    frame["topics"] = [["products", "workplace"], ["workplace"], []] * 2
    frame["sentiment_pos"] = [0.5, 0.0, 0.1] * 2
    written = steps.write_partitioned.fn(frame, table="social_listening")
    assert written["rows"] == 8
    storage = storage_from_settings(get_settings())
    assert storage.uri.startswith("s3://") and storage.local_path("x") is None
    with QuerySandbox(get_settings()) as sandbox:  # its worker reads S3 from the settings
        result = run_query(sandbox, storage, "SELECT source, topic, count(*) AS n FROM "
                           "enrichment.social_listening GROUP BY 1, 2 ORDER BY 1, 2").frame
    assert result.values.tolist() == [["news", "none", 1], ["news", "products", 1],
                                      ["news", "workplace", 2], ["social", "none", 1],
                                      ["social", "products", 1], ["social", "workplace", 2]]
