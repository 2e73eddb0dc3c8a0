"""``/api/deployments`` and the Deployments page: policy, versions, weight, live rate;
changing the traffic, promoting and rolling back with the admin key; the swap history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.serving.factory import body, live_server, registry_with, settings_for
from tests.ui.test_pages import browser  # noqa: F401 - the fixture

ADMIN = "deploy-admin-key-0123456789"
KEYS = [{"name": "ops", "key": ADMIN, "scopes": ["admin"]}]


def _app(tmp_path: Path) -> Any:
    registry = registry_with(2)
    registry.set_alias("m", "challenger", 2)
    return create_app(settings_for(tmp_path, api_keys=KEYS), registry=registry,
                      endpoints=[EndpointSettings(name="m", policy="canary",
                                                  canary_weight=0.0)])


def test_deployments_show_versions_policy_and_the_live_request_rate(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path), headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        for _ in range(30):
            assert client.post("/v2/models/m/infer", json=body(rows=1)).status_code == 200
        client.app.state.gazer.predictions.flush()  # type: ignore[attr-defined]
        [e] = client.get("/api/deployments", params={"minutes": 1}).json()
        assert (e["name"], e["policy"], e["canary_weight"]) == ("m", "canary", 0.0)
        assert (e["champion"]["version"], e["challenger"]["version"]) == (1, 2)
        assert e["rate"]["champion"]["per_s"] == pytest.approx(30 / 60)
        assert "challenger" not in e["rate"]  # weight 0: the challenger answered nothing
        assert client.get("/api/deployments", headers={"Authorization": "Bearer x"}
                          ).status_code == 401


@pytest.mark.integration
def test_deployments_page_changes_traffic_promotes_and_rolls_back(
        tmp_path: Path, browser: Any) -> None:  # noqa: F811
    with live_server(_app(tmp_path)) as base:
        page = browser.new_page()
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept(ADMIN)

        page.on("dialog", answer)
        page.goto(f"{base}/deployments")
        row = "#endpoints tr[data-endpoint='m']"
        page.wait_for_selector(row)
        assert page.locator(f"{row} .champion").inner_text() == "v1"
        assert page.locator(f"{row} .challenger").inner_text() == "v2"
        page.fill(f"{row} .weight", "0.3")
        page.click(f"{row} .apply")
        page.wait_for_function("document.querySelector('#status').textContent.endsWith('done')")
        assert page.locator(f"{row} .weight").input_value() == "0.3"
        page.click(f"{row} .promote")
        page.wait_for_function(f"document.querySelector(\"{row} .champion\").textContent "
                               "=== 'v2'", timeout=15_000)
        page.wait_for_selector("#swaps tbody tr.ok")
        assert "swapped" in page.locator("#swaps tbody").inner_text()
        page.click(f"{row} .rollback")
        page.wait_for_function(f"document.querySelector(\"{row} .champion\").textContent "
                               "=== 'v1'", timeout=15_000)
        assert len(asked) == 1  # the key was asked for once in this tab
        assert ADMIN not in page.content()  # and never written into the page
        page.close()
