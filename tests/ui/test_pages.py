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


def trained_app(tmp_path: Path, app_name: str, params: dict[str, Any],
                endpoint: EndpointSettings) -> Any:
    """Run an app's pipeline into an in-memory registry; a server app serving its model."""
    from gazer.catalog import get_pipeline
    from gazer.core.runner import Runner
    from gazer.registry.memory import MemoryRegistry
    from gazer.tracking.memory import MemoryTracker

    registry = MemoryRegistry()
    settings = settings_for(tmp_path)
    runner = Runner(settings, tracker=MemoryTracker(), registry=registry)
    record = runner.run(get_pipeline(app_name), params)
    runner.close()
    assert record.status == "succeeded", record.error
    return create_app(settings, registry=registry, endpoints=[endpoint])


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
        page.click("header nav a[href='/monitoring']")  # monitoring is in the navigation
        page.wait_for_selector("#monitored tr[data-endpoint='m']")
        page.click("#monitored tr[data-endpoint='m'] a.quality")
        assert page.url.endswith("/monitoring/m")
        page.close()


def _status_after(page: Any, before: str) -> str:
    """The feedback status once it changes from ``before``: the server's answer, stored or
    an error message, so a failure shows what the page said."""
    page.wait_for_function("(before) => document.querySelector('#feedback .feedback-status')"
                           ".textContent !== before", arg=before, timeout=60_000)
    return str(page.locator("#feedback .feedback-status").inner_text())


@pytest.mark.integration
def test_characters_page_draws_on_the_canvas_and_shows_the_top_3(
    browser: Any, tmp_path: Path
) -> None:
    app = trained_app(tmp_path, "characters", {"train_cnn.epochs": 2, "train_cnn.channels": 4},
                      EndpointSettings(name="characters", model="characters-digits"))
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/")
        page.click('section[data-app="characters"] a.open')
        assert page.url.endswith("/apps/characters")
        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + 140, box["y"] + 40)
        page.mouse.down()
        for y in range(40, 241, 20):  # a vertical stroke: something like a 1
            page.mouse.move(box["x"] + 140, box["y"] + y)
        page.mouse.up()
        page.click("#guess")
        page.wait_for_selector("#top li:nth-child(3)", timeout=15_000)
        items = page.locator("#top li").all_inner_texts()
        assert len(items) == 3 and all("%" in item for item in items)
        assert "model version 1" in page.locator("#answer-version").inner_text()
        # feedback: "wrong, it was ..." with a class from the list
        page.select_option("#feedback select.label", index=2)
        page.click("#feedback button.wrong")
        first = _status_after(page, "")
        assert first.startswith("thanks") and "feedback 1" in first, first
        page.click("#feedback button.right")  # a second word on the same answer updates it
        second = _status_after(page, first)
        assert "feedback 2" in second, second
        page.screenshot(path=str(tmp_path / "characters.png"))
        page.click("#clear")
        assert page.locator("#top li").count() == 0
        page.click("#guess")  # an empty pad: the server's message is shown, nothing crashes
        page.wait_for_function("document.querySelector('#error').textContent.length > 0")
        assert "empty" in page.locator("#error").inner_text()
        page.close()


@pytest.mark.integration
def test_wordpredict_page_checks_the_count_and_shows_the_top_5(
    browser: Any, tmp_path: Path
) -> None:
    from tests.apps.wordpredict.test_app import TINY
    from tests.apps.wordpredict.tiny import write_tiny_corpus

    folder = write_tiny_corpus(tmp_path / "tiny", train=300)
    app = trained_app(tmp_path, "wordpredict", {**TINY, "folder": str(folder), "train.epochs": 8},
                      EndpointSettings(name="wordpredict", model="wordpredict-ca-wiki"))
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/")
        page.click('section[data-app="wordpredict"] a.open')
        assert page.url.endswith("/apps/wordpredict")
        page.fill("#before", "Feu clic")
        page.fill("#after", "acord per a")
        page.click("#go")
        page.wait_for_function("document.querySelector('#error').textContent.length > 0")
        assert ("exactly 3 words before and 3 words after (got 2 before and 3 after)"
                in page.locator("#error").inner_text())
        page.fill("#before", "Feu clic a")
        page.click("#go")
        page.wait_for_selector("#top li:nth-child(5)", timeout=15_000)
        items = page.locator("#top li").all_inner_texts()
        assert len(items) == 5 and all("%" in item for item in items)
        assert page.locator("#error").inner_text() == ""
        assert "Feu clic a [" in page.locator("#sentence").inner_text()
        assert "version 1" in page.locator("#answer-version").inner_text()
        word = items[1].split(" (")[0]  # a word the model knows
        page.fill("#feedback input.label", word)
        page.click("#feedback button.wrong")
        page.wait_for_function("document.querySelector('#feedback .feedback-status')"
                               ".textContent.startsWith('thanks')", timeout=15_000)
        page.fill("#feedback input.label", "paraulainexistent")
        page.click("#feedback button.wrong")  # a word it cannot answer: the 422 is shown
        page.wait_for_function("document.querySelector('#feedback .feedback-status')"
                               ".textContent.includes('paraulainexistent')", timeout=15_000)
        page.close()


@pytest.mark.integration
def test_monitoring_page_shows_versions_the_ab_verdict_and_charts(
    browser: Any, tmp_path: Path
) -> None:
    import httpx

    registry = registry_with(2, champion=1)
    registry.set_alias("m", "challenger", 2)
    app = create_app(settings_for(tmp_path), registry=registry, endpoints=[
        EndpointSettings(name="m", policy="canary", canary_weight=0.5)])
    with live_server(app) as base, httpx.Client(base_url=base) as client:
        for i in range(80):
            answer = client.post("/v2/models/m/infer", headers={"X-Request-Key": f"u{i}"},
                                 json={"inputs": [{"name": "x", "shape": [1, 3],
                                                   "datatype": "FP64", "data": [0.5] * 3}]})
            client.post("/v2/feedback", json={"request_id": answer.json()["request_id"],
                                              "label": "2"})
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.goto(f"{base}/operator")
        page.click('a.monitoring:text("m")')
        assert page.url.endswith("/monitoring/m")
        page.wait_for_selector("#versions tbody tr:nth-child(2)", timeout=15_000)
        rows = page.locator("#versions tbody tr").all_inner_texts()
        assert rows[0].startswith("v1") and rows[1].startswith("v2")
        assert "\t0.00 [" in rows[0] and "\t1.00 [" in rows[1]  # v1 always wrong, v2 right
        assert "challenger better" in page.locator("#ab .verdict").inner_text()
        assert page.locator("#volume-chart polyline.series").count() == 2
        assert page.locator("#accuracy-chart polygon").count() == 2  # the interval bands
        assert page.locator("#error").inner_text() == ""
        page.screenshot(path=str(tmp_path / "monitoring.png"), full_page=True)
        page.close()


@pytest.mark.integration
def test_drift_page_shows_the_verdict_features_and_plots(browser: Any, tmp_path: Path) -> None:
    import httpx
    import numpy as np

    from gazer.ml.profiles import build_profile, profile_key
    from gazer.storage.resolve import storage_from_settings

    registry = registry_with(1, champion=1)
    settings = settings_for(tmp_path)
    rng = np.random.default_rng(0)
    profile = build_profile(rng.normal(0.5, 0.1, (500, 3)))
    assert profile is not None
    storage_from_settings(settings).write_bytes(profile_key("m", 1),
                                                profile.to_json().encode())
    app = create_app(settings, registry=registry, endpoints=[EndpointSettings(name="m")])
    with live_server(app) as base, httpx.Client(base_url=base) as client:
        for _ in range(60):  # production moved: every feature near 3, not 0.5
            r = client.post("/v2/models/m/infer", json={"inputs": [{
                "name": "x", "shape": [1, 3], "datatype": "FP64",
                "data": rng.normal(3.0, 0.1, 3).tolist()}]})
            assert r.status_code == 200
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.goto(f"{base}/monitoring/m")
        page.click("a:text('drift')")
        assert page.url.endswith("/monitoring/m/drift")
        page.wait_for_selector("#verdict[data-drifted='true']", timeout=15_000)
        assert page.locator("#verdict").inner_text().startswith("DRIFT")
        rows = page.locator("#features tbody tr").all_inner_texts()
        assert {r.split("\t")[0] for r in rows} >= {"x0", "x1", "x2"}
        assert page.locator("#features tr.drifted").count() >= 3
        assert page.locator("#plots svg rect").count() > 0
        page.wait_for_selector("#history tbody tr")
        assert page.locator("#error").inner_text() == ""
        page.close()


@pytest.mark.integration
def test_policies_page_lists_policies_and_their_decisions(browser: Any, tmp_path: Path) -> None:
    from gazer.db import Database
    from gazer.triggers.policies import Decision, record

    settings = settings_for(tmp_path)
    db = Database(settings.runs_url)
    record(db, Decision("characters-feedback", "idle", False, "no trigger fired"))
    record(db, Decision("characters-feedback", "retrained", True,
                        "50 new labelled answers; v2 passed its gate and is live as a canary",
                        version=2))
    db.close()
    with live_server(create_app(settings, registry=registry_with(1), endpoints=[])) as base:
        page = browser.new_page()
        page.goto(f"{base}/operator")
        page.click("nav a:text('Policies')")
        page.wait_for_selector("#decisions tbody tr:nth-child(2)", timeout=15_000)
        assert "characters-feedback" in page.locator("#policies tbody").inner_text()
        rows = page.locator("#decisions tbody tr").all_inner_texts()
        assert "retrained" in rows[0] and "v2" in rows[0] and "idle" in rows[1]
        page.check("#fired-only")
        assert page.locator("#decisions tbody tr").count() == 1
        assert page.locator("#error").inner_text() == ""
        page.close()


@pytest.mark.integration
def test_enrichment_page_asks_for_a_key_once_runs_sql_shows_the_chart_and_marks_rows(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gazer.apps.enrichment import steps
    from gazer.apps.enrichment.messages import normalise

    key = "analyst-key-0123456789"
    settings = settings_for(tmp_path, api_keys=[{"name": "analyst", "key": key,
                                                 "scopes": ["query", "feedback"]}])
    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    frame = normalise([{"text": f"m{i}", "source": "social",
                        "created_at": f"2026-11-0{1 + i % 3}T10:00:00Z"} for i in range(6)])
    frame["topics"] = [["products"], ["workplace"]] * 3
    frame["sentiment_pos"] = [0.5, 0.1] * 3
    frame["sentiment_neg"] = [0.0, 0.4] * 3
    frame["sentiment_compound"] = [0.6, -0.5] * 3
    frame["sentiment"] = ["positive", "negative"] * 3
    steps.write_partitioned.fn(frame, table="social_listening")
    with live_server(create_app(settings, endpoints=[])) as base:
        page = browser.new_page()
        prompts: list[str] = []

        def answer(dialog: Any) -> None:
            prompts.append(dialog.message)
            dialog.accept(key)

        page.on("dialog", answer)
        page.goto(f"{base}/apps/enrichment")
        page.wait_for_function("document.querySelector('#chart').naturalWidth > 100")
        page.click("#run")
        page.wait_for_selector("#result tr:nth-child(3)", timeout=15_000)
        cells = page.locator("#result tr").all_inner_texts()
        assert cells[0].split("\t")[:2] == ["topic", "messages"]
        assert "products" in cells[1] + cells[2] and "workplace" in cells[1] + cells[2]
        assert page.locator("#count").inner_text() == "2 rows"
        assert len(prompts) == 1 and "query" in prompts[0]  # asked once, kept for the tab
        page.fill("#sql", "SELECT nope FROM enrichment.social_listening")
        page.click("#run")
        page.wait_for_function("document.querySelector('#error').textContent.length > 0")
        assert "nope" in page.locator("#error").inner_text()
        # rows with the workflow's request ids get a "wrong topic / sentiment" mark
        page.fill("#sql", "SELECT id, topic, sentiment, topic_request_id, "
                          "sentiment_request_id FROM enrichment.social_listening ORDER BY id")
        page.click("#run")
        page.wait_for_selector("#result button.mark", timeout=15_000)
        assert page.locator("#result tr").nth(1).locator("button.mark").all_inner_texts() == [
            "wrong topic", "wrong sentiment"]
        rid = page.locator("#result tr").nth(1).locator("td").nth(3).inner_text()
        page.locator("#result tr").nth(1).locator("button.mark").first.click()
        page.wait_for_selector("#result .marked")
        assert page.locator("#error").inner_text() == ""
        page.close()
    from gazer.db import Database
    from gazer.monitoring.feedback import FeedbackStore

    db = Database(settings.runs_url)
    stored = FeedbackStore(db).get(rid)
    assert stored is not None and stored.correct is False and stored.comment == "wrong topic"
    db.close()
