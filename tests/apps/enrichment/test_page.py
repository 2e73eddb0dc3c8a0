"""The enrichment query API, chart and page over tables a workflow step wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gazer.apps.enrichment import steps
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
