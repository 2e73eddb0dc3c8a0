"""``StepTask``: everything one step needs to run anywhere, and ``execute_task`` to run it.

A task is picklable (cloudpickle) so the same function runs on a local thread, in a child
process (steps with a timeout) or as a Ray task: inputs arrive as ``ArtifactRef``s and are
loaded from shared storage, outputs are saved there and only references come back. On a
thread the task carries the runner's live services; to another process it carries their
``ServiceSpec``s, which open equal services where the task lands.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from pathlib import Path
from typing import Any

from gazer.core.artifacts import ArtifactRef, Metrics, load_artifact, save_artifact
from gazer.core.context import StepContext, enter_context, leave_context
from gazer.core.step import Step
from gazer.core.steplog import capture_output, step_logger
from gazer.registry.protocol import Registry
from gazer.settings import Settings
from gazer.spec import ServiceSpec
from gazer.storage.protocol import Storage
from gazer.tracking.protocol import Tracker


@dataclasses.dataclass
class StepTask:
    """One step of one run, ready to execute."""

    run_id: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, ArtifactRef]
    storage: Storage | ServiceSpec
    artifact_prefix: str
    log_path: str
    tmp_dir: str
    tracker: Tracker | ServiceSpec | None = None
    tracking_run_id: str | None = None
    registry: Registry | ServiceSpec | None = None
    settings: Settings | None = None


@dataclasses.dataclass
class StepResult:
    """What came of a task: output references, or the error after the last attempt."""

    outputs: dict[str, ArtifactRef]
    attempts: int
    started_at: float
    finished_at: float
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def node_name() -> str:
    """Where this step runs: the host name, and on a Ray worker the node's address."""
    import socket
    import sys

    where = socket.gethostname()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        with contextlib.suppress(Exception):
            where += f" (ray node {ray.util.get_node_ip_address()})"
    return where


def execute_task(task: StepTask) -> StepResult:
    """Load inputs, call the step (with retries and backoff), save outputs."""
    started = time.time()
    ctx = StepContext(
        run_id=task.run_id, step=task.step.name, tracker=_live(task.tracker),
        tracking_run_id=task.tracking_run_id,
        work_dir=Path(task.tmp_dir) / "scratch" / task.step.name,
        registry=_live(task.registry), settings=task.settings,
    )
    token = enter_context(ctx)
    attempts = 0
    try:
        with capture_output(task.log_path):
            storage = _live(task.storage)
            ctx.storage = storage
            while True:
                attempts += 1
                ctx.attempt = attempts
                step_logger.info("step %s attempt %d started on %s", task.step.name,
                                 attempts, node_name())
                try:
                    outputs = _attempt(task, storage, ctx)
                    step_logger.info("step %s succeeded", task.step.name)
                    return StepResult(outputs, attempts, started, time.time(), ctx.metrics)
                except Exception as exc:  # the step's own failure: record and maybe retry
                    tb = traceback.format_exc()
                    step_logger.error("step %s attempt %d failed:\n%s", task.step.name,
                                      attempts, tb)
                    if attempts > task.step.retries:
                        message = f"{type(exc).__name__}: {exc}"
                        return StepResult({}, attempts, started, time.time(), ctx.metrics,
                                          error=message, traceback=tb)
                    delay = task.step.retry_delay_s * 2 ** (attempts - 1)
                    step_logger.info("retrying in %.1fs", delay)
                    time.sleep(delay)
    finally:
        leave_context(token)


def _live(service: Any) -> Any:
    return service.open() if isinstance(service, ServiceSpec) else service


def _attempt(task: StepTask, storage: Any, ctx: StepContext) -> dict[str, ArtifactRef]:
    inputs = {name: load_artifact(storage, ref) for name, ref in task.inputs.items()}
    values = task.step.invoke(inputs, task.params)
    refs = {}
    for name, value in values.items():
        if isinstance(value, Metrics):
            ctx.log_metrics(value)
        refs[name] = save_artifact(
            storage, task.artifact_prefix, name, value, Path(task.tmp_dir)
        )
    return refs
