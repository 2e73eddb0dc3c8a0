"""Batch jobs over HTTP: upload a CSV, poll, download every row back with its summary."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig
from gazer.registry.promotion import promote
from gazer.registry.resolve import registry_from_settings
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings
from tests.apps.summarizer.test_model import DOC


@pytest.mark.integration
def test_an_uploaded_csv_is_summarised_and_downloaded(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", tracking={"co2": False})  # type: ignore[arg-type]
    registry = registry_from_settings(settings)
    registry.register("summarizer", ClusterSummarizer(SummarizerConfig(embedding="tfidf")))
    promote(registry, "summarizer", 1)
    csv = pd.DataFrame({"id": [1, 2, 3], "body": [DOC, "", DOC]}).to_csv(index=False).encode()
    app = create_app(settings, endpoints=[EndpointSettings(name="summarizer")])
    with TestClient(app) as client:
        bad = client.post("/api/batch/jobs", files={"file": ("r.csv", csv, "text/csv")})
        assert bad.status_code == 422 and "no column 'text'; columns: id, body" in bad.text
        started = client.post("/api/batch/jobs", files={"file": ("r.csv", csv, "text/csv")},
                              data={"column": "body"})
        assert started.status_code == 202, started.text
        status = {}
        for _ in range(600):
            status = client.get(started.json()["status_url"]).json()
            if status["status"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert status["status"] == "done", status
        assert (status["rows_done"], status["rows_total"], status["predicted"],
                status["errors"]) == (3, 3, 2, 1)
        result = pd.read_csv(io.StringIO(client.get(status["download_url"]).text),
                             keep_default_na=False)
        assert list(result["id"]) == [1, 2, 3]
        assert result["error"][1] == "empty text" and result["prediction"][1] == ""
        assert result["prediction"][0] == ClusterSummarizer(
            SummarizerConfig(embedding="tfidf")).summarize(DOC).text
        assert client.get("/api/batch/jobs/nope").status_code == 404
