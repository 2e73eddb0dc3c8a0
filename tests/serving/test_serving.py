"""Serving: answers, swaps under load, refused versions, traffic policies, serverless."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.settings import EndpointSettings
from tests.serving.factory import VersionModel, body, client_for, registry_with


def _versions(response: dict[str, object]) -> set[int]:
    return set(response["outputs"][0]["data"])  # type: ignore[index]


def test_infer_answers_with_the_champion(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(2, champion=2)) as client:
        r = client.post("/v2/models/m/infer", json=body(rows=4))
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["model_version"] == "2" and data["outputs"][0]["data"] == [2, 2, 2, 2]
        assert data["outputs"][0]["shape"] == [4]
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/models/m/ready").json()["ready"] is True


def test_swap_keeps_serving_in_flight_requests(tmp_path: Path) -> None:
    registry = registry_with(6, delay_s=0.005)
    with client_for(tmp_path, registry) as client:
        state = client.app.state.gazer  # type: ignore[attr-defined]
        stop = threading.Event()
        results: list[tuple[int, str, set[int]]] = []

        def hammer() -> None:
            while not stop.is_set():
                r = client.post("/v2/models/m/infer", json=body(rows=3))
                payload = r.json()
                results.append((r.status_code, payload.get("model_version", ""),
                                _versions(payload) if r.status_code == 200 else set()))

        with ThreadPoolExecutor(4) as pool:
            for _ in range(4):
                pool.submit(hammer)
            for version in range(2, 8):
                _wait_for_more(results, 8)
                if version == 7:
                    break
                promote(registry, "m", version)
                events = state.watcher.sync_once()
                assert [e.ok for e in events] == [True]
            stop.set()
        assert len(results) >= 48
        assert all(status == 200 for status, _, _ in results)
        # every answer comes from one version, the one the response names
        assert all(seen == {int(v)} for _, v, seen in results)
        assert {int(v) for _, v, _ in results} == {1, 2, 3, 4, 5, 6}
        assert client.post("/v2/models/m/infer", json=body()).json()["model_version"] == "6"


def _wait_for_more(results: list[object], n: int) -> None:
    """Block until ``n`` more answers arrived (bounded, so a hang fails instead)."""
    target = len(results) + n
    for _ in range(3000):
        if len(results) >= target:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"only {len(results)} answers arrived, wanted {target}")


def test_a_bad_version_is_refused_and_the_old_one_keeps_serving(tmp_path: Path) -> None:
    registry = registry_with(1)
    registry.register("m", VersionModel(2, broken=True), input_example=[[0.0, 0.0, 0.0]])
    with client_for(tmp_path, registry) as client:
        state = client.app.state.gazer  # type: ignore[attr-defined]
        promote(registry, "m", 2)
        (event,) = state.watcher.sync_once()
        assert not event.ok and "cannot predict" in (event.error or "")
        assert state.watcher.sync_once() == []  # not retried until the alias moves again
        r = client.post("/v2/models/m/infer", json=body())
        assert r.status_code == 200 and r.json()["model_version"] == "1"
        meta = client.get("/v2/models/m").json()
        assert "v2 refused" in meta["parameters"]["champion"]["error"]
        assert 'gazer_swaps_total{endpoint="m",result="refused",role="champion"} 1.0' in \
            client.get("/metrics").text


def test_canary_sends_its_weight_to_the_challenger_and_sticks_by_key(tmp_path: Path) -> None:
    registry = registry_with(2, champion=1)
    registry.set_alias("m", "challenger", 2)
    endpoint = EndpointSettings(name="m", policy="canary", canary_weight=0.2)
    with client_for(tmp_path, registry, endpoint) as client:
        versions = [client.post("/v2/models/m/infer", json=body()).json()["model_version"]
                    for _ in range(1000)]
        share = versions.count("2") / len(versions)
        assert 0.15 <= share <= 0.25, share
        for key in ("alice", "bob", "carol", "dave"):
            sticky = {client.post("/v2/models/m/infer", json=body(),
                                  headers={"X-Request-Key": key}).json()["model_version"]
                      for _ in range(15)}
            assert len(sticky) == 1


def test_shadow_never_changes_the_answer_and_logs_the_challenger(tmp_path: Path) -> None:
    registry = registry_with(2, champion=1)
    registry.set_alias("m", "challenger", 2)
    endpoint = EndpointSettings(name="m", policy="shadow")
    with client_for(tmp_path, registry, endpoint) as client:
        state = client.app.state.gazer  # type: ignore[attr-defined]
        answers = {client.post("/v2/models/m/infer", json=body()).json()["model_version"]
                   for _ in range(50)}
        assert answers == {"1"}
        state.shadow_pool.shutdown(wait=True)
        state.predictions.flush()
        rows = state.predictions.recent("m", limit=200)
        roles = [r["role"] for r in rows]
        assert roles.count("champion") == 50 and roles.count("shadow") == 50
        assert {r["version"] for r in rows if r["role"] == "shadow"} == {2}


def test_serverless_loads_on_demand_and_concurrent_requests_wait(tmp_path: Path) -> None:
    registry = registry_with(1)
    endpoint = EndpointSettings(name="m", serverless=True, idle_s=0.0)
    with client_for(tmp_path, registry, endpoint) as client:
        state = client.app.state.gazer  # type: ignore[attr-defined]
        slot = state.endpoints["m"].champion
        assert slot.current is None and slot.state == "unloaded"
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: client.post("/v2/models/m/infer",
                                                        json=body()).status_code, range(16)))
        assert codes == [200] * 16
        assert len(slot.cold_starts) == 1
        assert slot.unload_if_idle()
        assert client.post("/v2/models/m/infer", json=body()).status_code == 200
        assert len(slot.cold_starts) == 2


def test_predictions_are_logged_with_version_and_latency(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1)) as client:
        for _ in range(5):
            client.post("/v2/models/m/infer", json=body(), headers={"X-Request-ID": "req-1"})
        state = client.app.state.gazer  # type: ignore[attr-defined]
        state.predictions.flush()
        rows = state.predictions.recent("m")
        assert len(rows) == 5
        assert {r["request_id"] for r in rows} == {"req-1"}
        assert all(r["version"] == 1 and r["status"] == 200 and r["latency_ms"] >= 0
                   for r in rows)
        metrics = client.get("/metrics").text
        assert 'gazer_requests_total{endpoint="m",role="champion",status="200",version="1"} 5.0' \
            in metrics


def test_admin_routes_need_the_configured_key(tmp_path: Path) -> None:
    registry = registry_with(2)
    with client_for(tmp_path, registry) as client:
        r = client.post("/admin/models/m/promote", json={"version": 2})
        assert r.status_code == 403 and "GAZER_SERVING__API_KEYS" in r.json()["detail"]
    with client_for(tmp_path, registry, admin_api_key="s3cret" * 3) as client:
        assert client.post("/admin/models/m/promote", json={"version": 2}).status_code == 401
        wrong = client.post("/admin/models/m/promote", json={"version": 2},
                            headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.post("/admin/models/m/promote", json={"version": 2},
                         headers={"Authorization": "Bearer " + "s3cret" * 3})
        assert ok.status_code == 200 and ok.json()["champion"] == 2
        assert client.post("/v2/models/m/infer", json=body(),
                           headers={"X-API-Key": "s3cret" * 3}).json()["model_version"] == "2"
        back = client.post("/admin/models/m/rollback", headers={"X-API-Key": "s3cret" * 3})
        assert back.json()["champion"] == 1
        traffic = client.put("/admin/endpoints/m/traffic", headers={"X-API-Key": "s3cret" * 3},
                             json={"policy": "canary", "canary_weight": 0.5})
        assert traffic.json()["policy"] == "canary"
        swaps = client.get("/admin/swaps", headers={"X-API-Key": "s3cret" * 3}).json()
        assert [s["to_version"] for s in swaps][:2] == [1, 2]


def test_prediction_routes_can_require_a_key(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1), predict_api_key="k" * 16) as client:
        assert client.post("/v2/models/m/infer", json=body()).status_code == 401
        ok = client.post("/v2/models/m/infer", json=body(), headers={"X-API-Key": "k" * 16})
        assert ok.status_code == 200


def _error(client: TestClient, status: int, **kwargs: object) -> str:
    r = client.post(kwargs.pop("url", "/v2/models/m/infer"), **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    payload = r.json()
    assert set(payload) == {"error", "detail"}
    return str(payload["detail"])


def test_bad_requests_get_clear_4xx_answers(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1), max_body_bytes=50_000) as client:
        assert "no served model named 'nope'" in _error(client, 404, url="/v2/models/nope/infer",
                                                       json=body())
        assert "not valid JSON" in _error(client, 422, content=b"{not json",
                                          headers={"content-type": "application/json"})
        short = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1] * 5}]}
        assert "shape [2, 3] needs 6 values; got 5" in _error(client, 422, json=short)
        words = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64",
                             "data": ["a", "b", "c"]}]}
        assert "FP64" in _error(client, 422, json=words)
        assert "datatype" in _error(client, 422, json={"inputs": [
            {"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]})
        assert "at most 50000 bytes" in _error(client, 413, content=b"x" * 60_000,
                                              headers={"content-type": "application/json"})
        r = client.get("/v2/models/m/infer")
        assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"
        assert client.post("/v2/models/m/infer", json=body()).status_code == 200


def test_an_endpoint_without_a_champion_answers_503_with_retry_after(tmp_path: Path) -> None:
    with client_for(tmp_path, registry_with(1, champion=None)) as client:
        r = client.post("/v2/models/m/infer", json=body())
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert client.get("/readyz").status_code == 503


class WordsModel:
    """A text model: six words in, one word and class probabilities out."""

    def predict(self, x: object) -> object:
        import numpy as np

        return np.array([row[2] for row in np.asarray(x)])

    def predict_proba(self, x: object) -> object:
        import numpy as np

        return np.full((len(np.asarray(x)), 4), 0.25)


def test_metadata_gives_one_datatype_and_a_real_shape_per_tensor(tmp_path: Path) -> None:
    import numpy as np

    from gazer.registry.memory import MemoryRegistry

    registry = MemoryRegistry()
    registry.register("words", WordsModel(), input_example=np.array([["a", "b", "c"] * 2]))
    promote(registry, "words", 1)
    with client_for(tmp_path, registry, EndpointSettings(name="words")) as client:
        meta = client.get("/v2/models/words").json()
    assert meta["inputs"] == [{"name": "input-0", "datatype": "BYTES", "shape": [-1, 6]}]
    assert meta["outputs"] == [{"name": "predict", "datatype": "BYTES", "shape": [-1]},
                               {"name": "probabilities", "datatype": "FP64", "shape": [-1, 4]}]
    with client_for(tmp_path, registry_with(1)) as client:
        numeric = client.get("/v2/models/m").json()
    assert numeric["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 3]}]
    assert numeric["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]


def test_swaps_are_kept_in_the_database_across_restarts(tmp_path: Path) -> None:
    registry = registry_with(2)
    with client_for(tmp_path, registry):
        pass  # the first server loads v1
    promote(registry, "m", 2)
    key = {"X-API-Key": "s3cret" * 3}
    with client_for(tmp_path, registry, admin_api_key="s3cret" * 3) as client:
        swaps = client.get("/admin/swaps", headers=key).json()
    assert [(s["from_version"], s["to_version"], s["ok"]) for s in swaps] == [
        (None, 2, True), (None, 1, True)]


class ThreeColumns(VersionModel):
    """Refuses rows that do not have three values, as scikit-learn does."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != 3:
            raise ValueError(f"expected 3 features, got {x.shape[1]}")
        return super().predict(x)


def test_batched_and_unbatched_requests_answer_and_log_alike(tmp_path: Path) -> None:
    # batching on: the request awaits its batch on the event loop; off: a worker thread calls
    # the model. Same answers, same log rows, and a refused input fails alone either way.
    for batching in (True, False):
        registry = MemoryRegistry()
        registry.register("m", ThreeColumns(1), input_example=np.zeros((2, 3)))
        promote(registry, "m", 1)
        endpoint = EndpointSettings(name="m", batching=batching)
        with client_for(tmp_path / str(batching), registry, endpoint) as client:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(
                    lambda i: client.post("/v2/models/m/infer", json=body(rows=1 + i % 3)),
                    range(16)))
            assert [r.status_code for r in answers] == [200] * 16
            assert [len(r.json()["outputs"][0]["data"]) for r in answers] == \
                [1 + i % 3 for i in range(16)]
            r = client.post("/v2/models/m/infer", json=body(cols=4))
            assert r.status_code == 422 and "expected 3 features, got 4" in r.text, r.text
            state = client.app.state.gazer  # type: ignore[attr-defined]
            state.predictions.flush()
            rows = state.predictions.recent("m", limit=100)
            assert sorted(row["status"] for row in rows) == [200] * 16 + [422]
