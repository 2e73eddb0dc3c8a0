"""The runner: parallel branches, cache hits, retries, failures, resume, logs, tracking."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gazer import Metrics, Pipeline, current, step
from gazer.core.runner import Runner
from gazer.errors import InvalidParam
from gazer.tracking.memory import MemoryTracker

CALLS: dict[str, int] = {}
SYNC = {"barrier": threading.Barrier(2, timeout=20)}


def _count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@step(outputs="df")
def source(n: int = 20) -> pd.DataFrame:
    _count("source")
    current().log_dataset(pd.DataFrame({"x": range(n)}), "numbers")
    return pd.DataFrame({"x": range(n)})


@step(outputs="left")
def left(df: pd.DataFrame) -> int:
    _count("left")
    SYNC["barrier"].wait()  # passes only if the other branch runs at the same time
    return int(df["x"].sum())


@step(outputs="right")
def right(df: pd.DataFrame, k: int = 2) -> int:
    _count("right")
    SYNC["barrier"].wait()
    return int(df["x"].max()) * k


@step(outputs="metrics")
def combine(left: int, right: int) -> Metrics:
    _count("combine")
    for epoch in range(3):
        current().log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    return Metrics(total=left + right)


def branching() -> Pipeline:
    return Pipeline("branching", [source, left, right, combine])


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()
    SYNC["barrier"] = threading.Barrier(2, timeout=20)


def test_independent_branches_run_in_parallel(make_runner: Callable[..., Runner]) -> None:
    record = make_runner().run(branching())
    assert record.status == "succeeded", record.error
    assert {s.name: s.status for s in record.steps} == dict.fromkeys(
        ["source", "left", "right", "combine"], "succeeded")


def test_unchanged_steps_are_cache_hits_on_the_second_run(
    make_runner: Callable[..., Runner],
) -> None:
    runner = make_runner()
    runner.run(branching())
    second = runner.run(branching())
    assert second.cache_hits == 4
    assert CALLS == {"source": 1, "left": 1, "right": 1, "combine": 1}
    assert second.step("combine").outputs == runner.store.get_run(
        runner.store.list_runs()[1].id).step("combine").outputs


def test_a_changed_param_reruns_that_step_and_its_downstream_only(
    make_runner: Callable[..., Runner],
) -> None:
    runner = make_runner()
    runner.run(branching())
    SYNC["barrier"] = threading.Barrier(1)  # only one branch re-runs now
    third = runner.run(branching(), {"right.k": 3})
    cached = {s.name for s in third.steps if s.cached}
    assert cached == {"source", "left"}
    assert CALLS["right"] == 2 and CALLS["combine"] == 2


def test_metrics_params_and_datasets_reach_the_tracker(
    make_runner: Callable[..., Runner], tracker: MemoryTracker,
) -> None:
    record = make_runner().run(branching())
    logged = tracker.runs[record.tracking_run_id]  # type: ignore[index]
    assert logged["params"]["right.k"] == "2"
    assert logged["metrics"]["loss"] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]
    assert logged["metrics"]["total"] == [(0, 190 + 38)]
    assert logged["datasets"][0]["name"] == "numbers"
    assert len(logged["datasets"][0]["digest"]) == 64
    assert logged["tags"]["gazer.run_id"] == record.id
    assert logged["status"] == "succeeded"
    assert record.step("combine").metrics["total"] == 228


FLAKY_MARKER: dict[str, int] = {}


@step(outputs="value", retries=2, retry_delay_s=0.01)
def flaky() -> int:
    FLAKY_MARKER["n"] = FLAKY_MARKER.get("n", 0) + 1
    if FLAKY_MARKER["n"] < 3:
        raise ConnectionError("transient")
    return 7


def test_retries_recover_from_transient_failures(make_runner: Callable[..., Runner]) -> None:
    FLAKY_MARKER.clear()
    record = make_runner().run(Pipeline("flaky", [flaky]))
    assert record.status == "succeeded"
    assert record.step("flaky").attempts == 3


@step(outputs="checked")
def fragile(df: pd.DataFrame, flag_file: str = "") -> int:
    _count("fragile")
    if not Path(flag_file).exists():
        raise RuntimeError(f"flag file {flag_file} missing")
    return len(df)


@step(outputs="report")
def report(checked: int) -> str:
    _count("report")
    return f"{checked} rows"


def test_failure_skips_downstream_and_resume_reruns_only_what_failed(
    make_runner: Callable[..., Runner], tmp_path: Path,
) -> None:
    flag = tmp_path / "flag"
    pipe = Pipeline("fragile", [source, fragile, report])
    runner = make_runner()
    failed = runner.run(pipe, {"fragile.flag_file": str(flag)})
    assert failed.status == "failed"
    assert "flag file" in (failed.error or "")
    assert failed.step("fragile").status == "failed"
    assert "RuntimeError" in (failed.step("fragile").traceback or "")
    assert failed.step("report").status == "skipped"
    flag.write_text("ok")
    resumed = runner.run(pipe, resume=failed.id)
    assert resumed.id == failed.id and resumed.status == "succeeded"
    assert resumed.resumes == 1
    assert CALLS == {"source": 1, "fragile": 2, "report": 1}


def test_resume_refuses_new_params(make_runner: Callable[..., Runner], tmp_path: Path) -> None:
    runner = make_runner()
    pipe = Pipeline("fragile", [source, fragile, report])
    failed = runner.run(pipe, {"fragile.flag_file": str(tmp_path / "nope")})
    with pytest.raises(InvalidParam, match="reuses the run's own params"):
        runner.run(pipe, {"source.n": 3}, resume=failed.id)


def test_a_resume_whose_tracking_run_is_gone_fails_and_does_not_stay_running(
    make_runner: Callable[..., Runner], tmp_path: Path,
) -> None:
    pipe = Pipeline("fragile", [source, fragile, report])
    failed = make_runner().run(pipe, {"fragile.flag_file": str(tmp_path / "nope")})
    other = make_runner(tracker=MemoryTracker())  # a tracker that never saw this run
    with pytest.raises(KeyError):
        other.run(pipe, resume=failed.id)
    after = other.store.get_run(failed.id)
    assert after.status == "failed" and "tracking" in (after.error or "")


@step(outputs="chatty")
def chatty(lines: int = 30_000) -> int:
    for i in range(lines):
        print(f"line {i}")
    current().log.info("done printing")
    return lines


def test_step_logs_go_to_one_file_per_step_with_no_line_limit(
    make_runner: Callable[..., Runner],
) -> None:
    record = make_runner().run(Pipeline("chatty", [chatty]))
    text = Path(record.step("chatty").log_path or "").read_text()
    assert "line 0\n" in text and "line 29999\n" in text
    assert text.count("\nline ") == 30_000
    assert "done printing" in text


@step(outputs="slow", timeout_s=2)
def slow() -> int:
    time.sleep(60)
    return 1


def test_a_step_over_its_timeout_is_stopped_and_fails(make_runner: Callable[..., Runner]) -> None:
    record = make_runner().run(Pipeline("slow", [slow]))
    assert record.status == "failed"
    assert "timed out after 2s" in (record.step("slow").error or "")


@step(outputs="quick", timeout_s=120)
def quick(n: int = 3) -> int:
    return n * 2


def test_a_step_with_a_timeout_returns_its_result(make_runner: Callable[..., Runner]) -> None:
    record = make_runner().run(Pipeline("quick", [quick]))
    assert record.status == "succeeded", record.step("quick").error
    assert record.step("quick").outputs["quick"]["kind"] == "json"


def test_publish_without_a_registry_raises_instead_of_losing_the_model() -> None:
    from gazer.core.context import StepContext
    from gazer.errors import InvalidInput
    from gazer.registry.gate import Gate

    ctx = StepContext(step="register")
    with pytest.raises(InvalidInput, match="no model registry to publish 'm' to"):
        ctx.publish("m", object(), {"accuracy": 1.0}, Gate(metric="accuracy"))


@pytest.mark.parametrize(("resources", "expected"), [
    ({"num_cpus": 2, "memory": "4GB", "num_gpus": 1},
     {"num_cpus": 2.0, "memory": 4e9, "num_gpus": 1.0}),
    ({"memory": "512MiB", "accelerator_v100": 0.5},
     {"memory": 512 * 1024**2, "accelerator_v100": 0.5}),
    ({"memory": 1024}, {"memory": 1024.0}),
])
def test_step_resources_parse_to_numbers(resources: dict[str, object],
                                         expected: dict[str, float]) -> None:
    made = step(resources=resources)(lambda: 1)
    assert made.resources == expected
    from gazer.core.executors.ray import ray_options

    options = ray_options(made.resources)
    assert options.get("memory") == (int(expected["memory"]) if "memory" in expected else None)


@pytest.mark.parametrize(("resources", "message"), [
    ({"memory": "4 parsecs"}, "memory must be bytes or a size like '4GB'"),
    ({"num_cpus": -1}, "must be a number >= 0"),
    ({"num_gpus": "one"}, "must be a number >= 0"),
])
def test_bad_step_resources_are_refused_when_the_step_is_made(resources: dict[str, object],
                                                              message: str) -> None:
    from gazer.errors import InvalidPipeline

    with pytest.raises(InvalidPipeline, match=message):
        step(resources=resources)(lambda: 1)
