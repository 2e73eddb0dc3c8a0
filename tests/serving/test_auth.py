"""Scoped API keys on every route: no key, a key without the scope, the right key."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gazer.cli import main
from gazer.errors import InvalidInput
from gazer.serving.app import create_app
from gazer.serving.auth import check_public_bind
from gazer.settings import EndpointSettings, ServingSettings
from tests.serving.factory import registry_with, settings_for

KEYS = {"predict": "predict-key-0123456789", "feedback": "feedback-key-0123456789",
        "query": "query-key-0123456789", "admin": "admin-key-0123456789"}
# A key that lacks each scope.
WITHOUT = {"predict": "query", "feedback": "predict", "query": "predict", "admin": "predict"}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"}
HIDDEN_SCOPED = [("POST", "/api/summarize/sentences", "predict")]  # not in the schema


@pytest.fixture
def client(tmp_path: Path) -> Any:
    keys = [{"name": "admin", "sha256": hashlib.sha256(KEYS["admin"].encode()).hexdigest(),
             "scopes": ["admin"]}]
    keys += [{"name": s, "key": k, "scopes": [s]} for s, k in KEYS.items() if s != "admin"]
    app = create_app(settings_for(tmp_path, api_keys=keys), registry=registry_with(2),
                     endpoints=[EndpointSettings(name="m")])
    with TestClient(app) as c:
        yield c


def _operations(client: TestClient) -> list[tuple[str, str, str | None]]:
    spec = client.get("/openapi.json").json()
    ops = [(method.upper(), path, op.get("x-gazer-scope"))
           for path, item in spec["paths"].items() for method, op in item.items()]
    return ops + HIDDEN_SCOPED


def _call(client: TestClient, method: str, path: str, key: str | None) -> int:
    url = path.replace("{name}", "m").replace("{model}", "m").replace("{job_id}", "nope") \
        .replace("{paper_id}", "p" + "0" * 15).replace("{passage}", "0")  # ids of their shape
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT") else {}
    return client.request(method, url, headers=headers, **kwargs).status_code


def test_every_route_is_public_by_name_or_needs_its_scope(client: TestClient) -> None:
    ops = _operations(client)
    assert {path for _, path, scope in ops if scope is None} == PUBLIC
    assert len([op for op in ops if op[2]]) >= 18


def test_every_scoped_route_answers_401_403_or_serves_by_key(client: TestClient) -> None:
    for method, path, scope in _operations(client):
        if scope is None:
            assert _call(client, method, path, None) not in (401, 403), path
            continue
        assert _call(client, method, path, None) == 401, (method, path)
        assert _call(client, method, path, "not-a-configured-key-at-all") == 401, path
        assert _call(client, method, path, KEYS[WITHOUT[scope]]) == 403, (method, path)
        assert _call(client, method, path, KEYS[scope]) not in (401, 403), (method, path)
        assert _call(client, method, path, KEYS["admin"]) not in (401, 403), (method, path)


def test_the_answers_say_which_scope_is_missing(client: TestClient) -> None:
    missing = client.post("/admin/models/m/promote", json={"version": 2})
    assert missing.status_code == 401 and "'admin' scope" in missing.json()["detail"]
    wrong = client.post("/admin/models/m/promote", json={"version": 2},
                        headers={"X-API-Key": KEYS["predict"]})
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "Forbidden", "detail": "the API key 'predict' lacks the "
                            "'admin' scope; it has predict"}
    ok = client.post("/admin/models/m/promote", json={"version": 2},
                     headers={"X-API-Key": KEYS["admin"]})  # configured as a sha256 digest
    assert ok.status_code == 200 and ok.json()["champion"] == 2


def test_without_keys_predictions_are_open_and_admin_is_disabled(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path), registry=registry_with(1),
                     endpoints=[EndpointSettings(name="m")])
    with TestClient(app) as client:
        infer = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64",
                             "data": [0.0, 0.0, 0.0]}]}
        assert client.post("/v2/models/m/infer", json=infer).status_code == 200
        admin = client.get("/admin/swaps")
        assert admin.status_code == 403 and "GAZER_SERVING__API_KEYS" in admin.json()["detail"]
        spec = client.get("/openapi.json").json()
    assert spec["paths"]["/v2/models/{name}/infer"]["post"]["security"][0] == {}
    assert {} not in spec["paths"]["/admin/swaps"]["get"]["security"]


def test_a_public_bind_without_keys_refuses_to_start(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="refusing to serve on 0.0.0.0"):
        check_public_bind("0.0.0.0", ServingSettings())  # nosec B104 # the bind under test
    check_public_bind("127.0.0.1", ServingSettings())
    check_public_bind("::1", ServingSettings())
    check_public_bind("0.0.0.0", ServingSettings(allow_anonymous=True))  # nosec B104
    check_public_bind("10.1.2.3", ServingSettings(api_keys=[{"key": KEYS["admin"]}]))
    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--host", "0.0.0.0"])  # nosec B104
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("error: refusing to serve on 0.0.0.0") and "--allow-anonymous" in err


def test_pages_show_no_guarded_data_when_keys_are_configured(client: TestClient) -> None:
    operator = client.get("/operator")
    assert operator.status_code == 200
    assert 'data-model="m"' not in operator.text and "This server uses API keys" in operator.text
    home = client.get("/")
    assert "needs an API key" in home.text and "v1" not in home.text
    hidden = client.post("/api/summarize/sentences", json={"Text": "One. Two."})
    assert hidden.status_code == 401  # a route outside the schema still needs its scope
