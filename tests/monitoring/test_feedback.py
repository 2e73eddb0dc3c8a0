"""``POST /v2/feedback``: stored on a 2xx, history kept, clear 4xx for what cannot be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from tests.serving.factory import EXAMPLE, body, client_for, registry_with


class Labelled:
    """Answers class index 1 ('cat') for every row."""

    class_names = ("dog", "cat")

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.ones(len(x), dtype=int)


def _answer(client: TestClient, name: str = "m") -> dict[str, object]:
    r = client.post(f"/v2/models/{name}/infer", json=body())
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    assert answer["request_id"] == r.headers["x-request-id"]
    return answer


def test_feedback_is_stored_updated_with_history_and_joined_to_its_answer(
        tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1)) as client:
        rid = _answer(client)["request_id"]
        first = client.post("/v2/feedback", json={"request_id": rid, "correct": False,
                                                  "label": "7"})
        assert first.status_code == 200, first.text
        assert first.json()["version"] == 1 and first.json()["answer"] == "1"
        assert first.json()["revisions"] == 1
        second = client.post("/v2/feedback", json={"request_id": rid, "rating": 4,
                                                   "comment": "close"})
        assert second.status_code == 200
        stored = second.json()
        assert (stored["rating"], stored["label"], stored["revisions"]) == (4, None, 2)
        assert [h["label"] for h in stored["history"]] == ["7", None]


def test_feedback_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    registry = MemoryRegistry()
    registry.register("m", Labelled(), input_example=EXAMPLE)
    promote(registry, "m", 1)
    with client_for(tmp_path, registry) as client:
        rid = _answer(client)["request_id"]
        unknown = client.post("/v2/feedback", json={"request_id": "nope", "correct": True})
        assert unknown.status_code == 404 and "request_id" in unknown.json()["detail"]
        label = client.post("/v2/feedback", json={"request_id": rid, "label": "horse"})
        assert label.status_code == 422
        assert "'horse'" in label.json()["detail"] and "dog, cat" in label.json()["detail"]
        rating = client.post("/v2/feedback", json={"request_id": rid, "rating": 6})
        assert rating.status_code == 422 and "rating" in rating.json()["detail"]
        empty = client.post("/v2/feedback", json={"request_id": rid})
        assert empty.status_code == 422 and "at least one of" in empty.json()["detail"]
        ok = client.post("/v2/feedback", json={"request_id": rid, "label": "dog"})
        assert ok.status_code == 200 and ok.json()["answer"] == "cat"


def test_feedback_needs_the_feedback_scope_once_keys_are_set(tmp_path: Path) -> None:
    keys = [{"name": "p", "key": "p" * 20, "scopes": ["predict"]},
            {"name": "f", "key": "f" * 20, "scopes": ["feedback"]}]
    with client_for(tmp_path, registry_with(1), api_keys=keys) as client:
        r = client.post("/v2/models/m/infer", json=body(), headers={"X-API-Key": "p" * 20})
        rid = r.json()["request_id"]
        payload = {"request_id": rid, "correct": True}
        assert client.post("/v2/feedback", json=payload,
                           headers={"X-API-Key": "p" * 20}).status_code == 403
        assert client.post("/v2/feedback", json=payload,
                           headers={"X-API-Key": "f" * 20}).status_code == 200


def test_metrics_show_the_log_counts_and_the_labelled_accuracy(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1)) as client:
        rid = _answer(client)["request_id"]
        assert client.post("/v2/feedback", json={"request_id": rid,
                                                 "correct": True}).status_code == 200
        text = client.get("/metrics").text
    assert "gazer_predictions_written_total 1.0" in text
    assert "gazer_predictions_dropped_total 0.0" in text
    assert 'gazer_labelled_accuracy{endpoint="m",role="champion",version="1"} 1.0' in text
    assert 'gazer_labelled_predictions{endpoint="m",role="champion",version="1"} 1.0' in text


def test_resources_and_energy_per_endpoint_are_kept(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1), resource_interval_s=0) as client:
        state = client.app.state.gazer  # type: ignore[attr-defined]
        for _ in range(20):
            _answer(client)
        from gazer.monitoring.resources import ResourceSampler

        sampler = ResourceSampler(state.services.db, state.take_busy, tmp_path, "ESP", 3600)
        busy_loop = sum(i * i for i in range(300_000))  # CPU time for the sample to see
        sample = sampler.sample()
        assert busy_loop > 0 and sample["rss_bytes"] > 0 and sample["cpu_seconds"] > 0
        assert sample["energy_kwh"] > 0 and sample["co2_kg"] > 0
        resources = client.get("/api/monitoring/resources").json()
        assert len(resources) == 1 and resources[0]["rss_bytes"] == sample["rss_bytes"]
        energy = client.get("/v2/models/m/quality").json()["energy"]
        assert energy["predictions"] == 20 and energy["co2_g_per_1k"] > 0
