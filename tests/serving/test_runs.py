"""``/api/runs``: the runs list with filters and pages, one run's DAG, and step logs; and the
``/runs`` pages in Chromium."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings
from tests.ui.test_pages import browser  # noqa: F401 - the fixture

KEY = "runs-admin-key-0123456789"


@pytest.fixture
def runs(make_runner: Callable[..., Runner]) -> dict[str, str]:
    runner = make_runner()
    ok = runner.run(get_pipeline("example"), {})
    again = runner.run(get_pipeline("example"), {})  # every step a cache hit
    bad = make_runner().run(get_pipeline("example"), {"train_logreg.C": -1.0})
    assert (ok.status, again.status, bad.status) == ("succeeded", "succeeded", "failed")
    return {"ok": ok.id, "again": again.id, "bad": bad.id}


def _keyed(settings: Settings) -> Settings:
    return Settings(home=settings.home, tracking={"co2": False},  # type: ignore[arg-type]
                    serving={"poll_interval_s": 3600.0, "api_keys": [
                        {"name": "ops", "key": KEY, "scopes": ["predict", "admin"]}]})


@pytest.fixture
def client(settings: Settings, registry: MemoryRegistry) -> Iterator[TestClient]:
    app = create_app(_keyed(settings), registry=registry,
                     endpoints=[EndpointSettings(name="example")])
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


def test_runs_are_listed_newest_first_filtered_and_paged(client: TestClient,
                                                         runs: dict[str, str]) -> None:
    body = client.get("/api/runs").json()
    assert [r["id"] for r in body["runs"]] == [runs["bad"], runs["again"], runs["ok"]]
    assert not body["more"]
    failed = client.get("/api/runs", params={"status": "failed"}).json()["runs"]
    assert [r["id"] for r in failed] == [runs["bad"]] and failed[0]["failed_steps"] == [
        "train_logreg"]
    page = client.get("/api/runs", params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in page["runs"]] == [runs["again"]] and page["more"]
    assert client.get("/api/runs", params={"pipeline": "summarizer"}).json()["runs"] == []
    assert client.get("/api/runs", params={"status": "nonsense"}).status_code == 422


def test_a_run_has_its_dag_statuses_cache_hits_and_step_logs(client: TestClient,
                                                            runs: dict[str, str]) -> None:
    run = client.get(f"/api/runs/{runs['again']}").json()
    assert run["levels"] == [["load"], ["split"], ["train_logreg", "train_tree"],
                             ["evaluate_logreg", "evaluate_tree"], ["select"]]
    assert ["split", "train_tree"] in run["edges"] and ["train_tree", "evaluate_tree"] in \
        run["edges"] and ["train_logreg", "evaluate_tree"] not in run["edges"]
    assert all(s["cached"] for s in run["step_records"].values())
    bad = client.get(f"/api/runs/{runs['bad']}").json()
    assert bad["step_records"]["train_logreg"]["status"] == "failed"
    assert bad["params"]["train_logreg.C"] == -1.0 and "load.n" in bad["params"]
    ok = client.get(f"/api/runs/{runs['ok']}").json()
    assert ok["step_records"]["evaluate_logreg"]["metrics"]
    assert ok["models"] == ["example v1"]
    assert {d["name"] for d in ok["datasets"]} and all(len(d["digest"]) == 64
                                                       for d in ok["datasets"])
    assert bad["models"] == []
    log = client.get(f"/api/runs/{runs['bad']}/steps/train_logreg/log", params={"full": True})
    assert log.status_code == 200 and "C" in log.text
    assert client.get(f"/api/runs/{runs['bad']}/steps/train_logreg/log",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/runs/no-such-run").status_code == 404


@pytest.fixture
def mlflow_runs(make_runner: Callable[..., Runner], settings: Settings) -> dict[str, str]:
    """Runs tracked in the MLflow store the server reads (the settings' own)."""
    from gazer.tracking.resolve import tracker_from_settings

    tracker = tracker_from_settings(settings)
    ok = make_runner(tracker=tracker).run(get_pipeline("example"), {})
    bad = make_runner(tracker=tracker).run(get_pipeline("example"), {"train_logreg.C": -1.0})
    return {"ok": ok.id, "bad": bad.id}


def test_a_run_has_its_energy_curves_and_artifacts_from_mlflow(
        client: TestClient, mlflow_runs: dict[str, str]) -> None:
    tracking = client.get(f"/api/runs/{mlflow_runs['ok']}").json()["tracking"]
    assert tracking["error"] is None and tracking["energy_kwh"] == 0.0  # tracking.co2 is off
    images = {a["path"]: a for a in tracking["artifacts"] if a["image"]}
    assert "evaluate_logreg/evaluate_logreg.png" in images, tracking["artifacts"]
    figure = client.get(images["evaluate_logreg/evaluate_logreg.png"]["url"])
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content.startswith(b"\x89PNG") and "inline" in figure.headers[
        "content-disposition"]
    assert len(figure.content) == images["evaluate_logreg/evaluate_logreg.png"]["bytes"]
    files = [a for a in tracking["artifacts"] if not a["image"]]
    if files:
        download = client.get(files[0]["url"])
        assert download.status_code == 200 and "attachment" in download.headers[
            "content-disposition"]
    missing = client.get(f"/api/runs/{mlflow_runs['ok']}/artifacts/../../etc/passwd")
    assert missing.status_code == 404
    nope = client.get(f"/api/runs/{mlflow_runs['ok']}/artifacts/no-such.png")
    assert nope.status_code == 404 and "evaluate_logreg.png" in nope.json()["detail"]


def test_curves_are_metrics_logged_at_more_than_one_step() -> None:
    from gazer.core.runs import RunRecord
    from gazer.serving.runs import _tracking
    from gazer.tracking.memory import MemoryTracker

    tracker = MemoryTracker()
    tid = tracker.start_run("e", "r", {})
    for epoch, loss in enumerate([0.9, 0.4, 0.2]):
        tracker.log_metrics(tid, {"loss": loss}, step=epoch)
    tracker.log_metrics(tid, {"accuracy": 0.8})  # two steps' metrics at step 0: no curve
    tracker.log_metrics(tid, {"accuracy": 0.9, "energy_kwh": 0.002, "co2_kg": 0.0005})
    run = RunRecord(id="r1", pipeline="p", status="succeeded", params={}, executor="local",
                    created_at=0.0, finished_at=1.0, host="h", pid=1, tracking_run_id=tid,
                    error=None, resumes=0)
    out = _tracking(tracker, run)
    assert out["curves"] == {"loss": [(0, 0.9), (1, 0.4), (2, 0.2)]}
    assert (out["energy_kwh"], out["co2_kg"], out["artifacts"]) == (0.002, 0.0005, [])


def test_rerun_and_resume_start_runs_from_the_console(
        client: TestClient, mlflow_runs: dict[str, str]) -> None:
    bad = mlflow_runs["bad"]
    anonymous = client.post(f"/admin/runs/{bad}/rerun", headers={"Authorization": "Bearer no"})
    assert anonymous.status_code == 401
    assert client.post(f"/admin/runs/{mlflow_runs['ok']}/resume").status_code == 409
    assert client.post("/admin/runs/no-such-run/rerun").status_code == 404
    again = client.post(f"/admin/runs/{bad}/rerun")
    assert again.status_code == 202, again.text
    new = again.json()
    assert new["run_id"] != bad and not new["resumed"]
    assert new["url"] == f"/runs/{new['run_id']}"
    client.app.state.run_launcher.thread.join(300)  # type: ignore[attr-defined]
    rerun = client.get(f"/api/runs/{new['run_id']}").json()
    assert rerun["params"]["train_logreg.C"] == -1.0 and rerun["status"] == "failed"
    resumed = client.post(f"/admin/runs/{bad}/resume")
    assert resumed.status_code == 202 and resumed.json() == {
        "run_id": bad, "pipeline": "example", "resumed": True, "url": f"/runs/{bad}"}
    client.app.state.run_launcher.thread.join(300)  # type: ignore[attr-defined]
    after = client.get(f"/api/runs/{bad}").json()
    assert after["resumes"] == 1 and after["status"] == "failed"  # C=-1 fails again
    assert after["step_records"]["load"]["status"] == "succeeded"


@pytest.mark.integration
def test_runs_pages_list_filter_and_draw_the_dag(runs: dict[str, str], settings: Settings,
                                                 registry: MemoryRegistry,
                                                 browser: Any) -> None:  # noqa: F811
    from tests.serving.factory import live_server

    app = create_app(settings, registry=registry, endpoints=[EndpointSettings(name="example")])
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/runs")
        page.wait_for_selector(f"tr[data-run='{runs['ok']}']")
        assert page.locator("#runs tbody tr").count() == 3
        page.select_option("#status", "failed")
        page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 1")
        assert page.locator("#runs tbody tr .status").inner_text() == "failed"
        page.click(f"tr[data-run='{runs['bad']}'] a")
        page.wait_for_selector("#dag svg g.step")
        assert page.locator("#dag g.step").count() == 7
        assert page.locator("#dag g.step[data-step='train_logreg']").get_attribute(
            "data-status") == "failed"
        pipeline = get_pipeline("example")
        assert page.locator("#dag path.edge").count() == sum(
            len(pipeline.upstream(n)) for n in pipeline.order)
        if os.environ.get("GAZER_SCREENSHOTS"):  # a folder: the page's picture for the docs
            page.screenshot(path=str(Path(os.environ["GAZER_SCREENSHOTS"]) / "run-dag.png"))
        page.locator("#dag g.step[data-step='train_logreg']").click()
        page.wait_for_selector("#log-box:not([hidden])")
        assert "train_logreg" in page.locator("#log-step").inner_text()
        page.goto(f"{base}/runs/{runs['again']}")
        page.wait_for_selector("#dag svg g.step")
        assert page.locator("#dag g.step[data-cached='true']").count() == 7
        assert "7 cache hits" in page.locator("#summary").inner_text()
        page.goto(f"{base}/runs/{runs['ok']}")
        page.wait_for_selector("#produced a")
        assert page.locator("#produced a").inner_text() == "example v1"
        page.click("#produced a")
        page.wait_for_selector("#lineage li")
        page.close()


@pytest.mark.integration
def test_the_run_page_shows_artifacts_inline_energy_and_reruns(
        mlflow_runs: dict[str, str], settings: Settings, registry: MemoryRegistry,
        browser: Any) -> None:  # noqa: F811
    from tests.serving.factory import live_server

    app = create_app(_keyed(settings), registry=registry,
                     endpoints=[EndpointSettings(name="example")])
    with live_server(app) as base:
        page = browser.new_page()
        page.on("dialog", lambda dialog: dialog.accept(KEY))  # the page asks for the key once
        page.goto(f"{base}/runs/{mlflow_runs['bad']}")
        page.wait_for_selector("#dag svg g.step")
        assert page.locator("#resume").is_visible()
        page.goto(f"{base}/runs/{mlflow_runs['ok']}")
        page.wait_for_function("[...document.querySelectorAll('#images img')].some("
                               "(i) => i.complete && i.naturalWidth > 0)", timeout=30_000)
        assert "Wh" in page.locator("#energy").inner_text()
        assert not page.locator("#resume").is_visible()
        page.click("#rerun")  # the key this tab was given has the admin scope
        page.wait_for_function(f"!location.pathname.endsWith('{mlflow_runs['ok']}')",
                               timeout=60_000)
        page.wait_for_selector("#dag svg g.step")
        assert page.locator("#summary").inner_text().startswith("example")
        app.state.run_launcher.thread.join(300)
        page.close()
