"""The UI pages in a real Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gazer.registry.promotion import promote
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.serving.factory import live_server, registry_with, settings_for

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium not found: apt-get install chromium (.ci/run installs it)")
    return found


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.integration
def test_home_and_operator_pages_show_live_versions_and_swaps(
    browser: Any, tmp_path: Path
) -> None:
    registry = registry_with(2, champion=1)
    app = create_app(settings_for(tmp_path), registry=registry,
                     endpoints=[EndpointSettings(name="m")])
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/")
        assert page.title() == "gazer"
        row = page.locator('tr[data-endpoint="m"]')
        assert row.locator(".champion-version").inner_text() == "v1"
        assert row.locator(".state").inner_text() == "ready"
        assert page.locator('section[data-app="example"] h2').inner_text() == "example"
        page.screenshot(path=str(tmp_path / "home.png"))

        promote(registry, "m", 2)
        app.state.gazer.watcher.sync_once()
        page.goto(f"{base}/operator")
        model = page.locator('section[data-model="m"]')
        assert "champion" in model.locator("tbody tr").first.inner_text()
        swap = page.locator("#swaps tbody tr").first
        assert "swapped" in swap.inner_text() and "v2" in swap.inner_text()
        assert page.locator("#swaps .when").first.inner_text() != ""  # filled in by app.js

        page.goto(f"{base}/")
        page.wait_for_function(
            "document.querySelector('tr[data-endpoint=\"m\"] .champion-version')"
            ".textContent === 'v2'", timeout=15_000)
        page.close()
