"""``/api/models`` and the ``/models`` pages: versions side by side, the gate's metric across
versions, and a version's lineage to the endpoint serving it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.services import Services
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings
from gazer.tracking.memory import MemoryTracker
from tests.ui.test_pages import browser  # noqa: F401 - the fixture


@pytest.fixture
def app(make_runner: Callable[..., Runner], registry: MemoryRegistry, settings: Settings,
        tracker: MemoryTracker) -> Any:
    first = make_runner().run(get_pipeline("example"), {})
    second = make_runner().run(get_pipeline("example"), {"train_logreg.C": 0.01})
    assert (first.status, second.status) == ("succeeded", "succeeded")
    report = settings.home / "behaviour_tests.md"  # as wordpredict's evaluate step logs it
    report.write_text("# Behaviour tests\n\n| test | result |\n|---|---|\n"
                      "| <b>negation</b> | pass |\n")
    tracker.log_artifact(second.tracking_run_id, report)
    services = Services(settings, registry=registry, tracker=tracker)
    return create_app(settings, services=services,
                      endpoints=[EndpointSettings(name="example")])


def test_models_list_versions_gate_metric_and_lineage(app: Any, registry: MemoryRegistry) -> None:
    with TestClient(app) as client:
        [model] = client.get("/api/models").json()
        champion = registry.find_alias("example", "champion")
        assert champion is not None
        assert (model["name"], model["versions"], model["champion"]) == (
            "example", 2, champion.version)
        detail = client.get("/api/models/example").json()
        assert detail["gate_metric"] == "accuracy"
        assert [v["version"] for v in detail["versions"]] == [1, 2]
        assert all("accuracy" in v["metrics"] and v["run_id"] for v in detail["versions"])
        one = client.get(f"/api/models/example/{champion.version}").json()
        assert one["lineage"]["endpoints"] == [{"endpoint": "example", "role": "champion",
                                                "monitoring": "/monitoring/example"}]
        assert one["lineage"]["run_page"] == f"/runs/{one['run_id']}"
        assert one["lineage"]["dataset"]
        card = one["model_card"]
        assert card["path"] == "select/model_card.md" and "<h1>Model card: example" in card["html"]
        assert "<table>" in card["html"] and one["gate_decision"]["passed"]
        assert one["gate_decision"]["version"] == champion.version
        profile = one["reference_profile"]
        assert profile["n"] > 0 and len(profile["features"]) == 30  # the 30 input columns
        assert profile["features"]["x0"]["p5"] <= profile["features"]["x0"]["mean"] <= \
            profile["features"]["x0"]["p95"]
        second = client.get("/api/models/example/2").json()["behaviour_tests"]
        assert "&lt;b&gt;negation&lt;/b&gt;" in second["html"]  # its raw HTML is escaped
        assert "<b>" not in second["html"]
        assert client.get("/api/models/nope").status_code == 404
        assert client.get("/api/models/example/9").status_code == 404


@pytest.mark.integration
def test_models_pages_show_versions_the_chart_and_lineage(app: Any,
                                                          browser: Any) -> None:  # noqa: F811
    from tests.serving.factory import live_server

    with live_server(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/models")
        page.click("tr[data-model='example'] a")
        page.wait_for_selector("#chart svg circle.point")
        assert page.locator("#chart circle.point").count() == 2
        assert page.locator("#versions tbody tr").count() == 2
        assert page.locator("#versions th.gate-metric").inner_text() == "accuracy"
        page.click("#versions tbody tr[data-version='1'] a")
        page.wait_for_selector("#lineage li")
        lineage = page.locator("#lineage").inner_text()
        assert "dataset version" in lineage and "model version example v1" in lineage
        assert page.locator("#lineage a[href^='/runs/']").count() == 1
        page.wait_for_selector("#model-card h1")
        assert "Model card: example v1" in page.locator("#model-card h1").inner_text()
        assert page.locator("#profile table.profile tbody tr").count() == 30
        page.click("#lineage a[href^='/runs/']")
        page.wait_for_selector("#dag svg g.step")
        page.close()
