"""``gazer demo``'s background training: the server answers first, the apps without a
champion train one at a time, the pages show it, and each app goes live without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gazer.catalog import get_app
from gazer.core.progress import Progress, active
from gazer.demo import BackgroundTraining
from gazer.registry.memory import MemoryRegistry
from gazer.services import Services
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from gazer.tracking.memory import MemoryTracker
from tests.serving.factory import live_server, settings_for
from tests.ui.test_pages import browser  # noqa: F401 - the Chromium fixture

QUICK = {"characters": {"train_cnn.epochs": 2, "train_cnn.channels": 4}}


def test_active_lists_the_loops_running_now_with_done_total_and_eta() -> None:
    seen = []
    for i in Progress(range(4), desc="epochs", every_s=3600):
        seen.append(active()[-1])
        assert seen[-1]["desc"] == "epochs" and seen[-1]["done"] == i
    assert seen[-1]["total"] == 4 and seen[-1]["pct"] == 75.0
    assert seen[-1]["eta_s"] is not None and seen[-1]["eta_s"] >= 0
    assert all(p["desc"] != "epochs" for p in active())  # gone once the loop ends


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with Services(settings_for(tmp_path, poll_interval_s=0.2), registry=MemoryRegistry(),
                  tracker=MemoryTracker()) as svc:
        yield svc


def test_an_app_without_a_champion_trains_and_one_with_a_champion_is_left_alone(
        services: Services) -> None:
    lines: list[str] = []
    training = BackgroundTraining(services, lines.append, apps=[get_app("characters")],
                                  params=QUICK)
    assert [a["status"] for a in training.snapshot()["apps"]] == ["queued"]
    assert training.snapshot()["active"]
    training.start().join(600)
    app = training.snapshot()["apps"][0]
    assert app["status"] == "live" and app["version"] == 1 and app["run_id"], app
    assert app["started"] <= app["finished"] and not training.snapshot()["active"]
    assert training.ok
    again = BackgroundTraining(services, lines.append, apps=[get_app("characters")])
    assert again.apps == [] and any("champion v1 exists" in line for line in lines)


@pytest.mark.integration
def test_the_pages_show_the_training_and_the_app_goes_live_without_a_restart(
        services: Services, browser: Any) -> None:  # noqa: F811
    app = create_app(services.settings, services=services,
                     endpoints=[EndpointSettings(name="characters", model="characters-digits")])
    training = BackgroundTraining(services, lambda _line: None, apps=[get_app("characters")],
                                  params=QUICK)
    app.state.training = training
    with live_server(app) as base:
        assert httpx.get(f"{base}/readyz").status_code == 503  # serving, nothing loaded yet
        status = httpx.get(f"{base}/api/training").json()
        assert status["active"] and status["apps"][0]["status"] == "queued"
        page = browser.new_page()
        page.goto(f"{base}/")
        page.wait_for_function("document.querySelector('#training').textContent"
                               ".includes('Queued: characters')", timeout=30_000)
        training.start()
        page.wait_for_selector('section[data-app="characters"] '
                               '.training-state[data-status="live"]', timeout=300_000)
        assert "v1 is the champion" in page.locator(
            'section[data-app="characters"] .training-state').inner_text()
        assert page.locator("#training").get_attribute("data-active") == "false"
        # the watcher swaps the champion in: the endpoint answers, with no restart
        page.wait_for_function("document.querySelector('tr[data-endpoint=\"characters\"] "
                               ".champion-version').textContent === 'v1'", timeout=60_000)
        assert httpx.get(f"{base}/v2/models/characters/ready").status_code == 200
        page.goto(f"{base}/apps/characters")
        assert "characters: live v1" in page.locator("#training").inner_text()
        page.close()
    openapi = app.openapi()["paths"]["/api/training"]["get"]["responses"]
    assert "200" in openapi and "401" in openapi
