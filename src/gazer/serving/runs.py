"""``/api/runs``: pipeline runs for the operator console: a filtered, paginated list, one
run with its DAG (steps, edges, status, durations, cache hits, retries), and step logs."""

from __future__ import annotations

import logging
import mimetypes
import threading
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from gazer.catalog import get_pipeline
from gazer.core.datasets import produced, read_by
from gazer.core.runner import run_id_in
from gazer.core.runs import RunRecord
from gazer.errors import Conflict, GazerError, NotFound, PipelineNotFound
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.inference import state_of

log = logging.getLogger("gazer.serving.runs")
router = APIRouter(tags=["runs"])
admin_router = APIRouter(prefix="/admin", tags=["admin (API key)"],
                         dependencies=[require("admin")])
STATUSES = ("running", "succeeded", "failed", "interrupted")
TAIL_BYTES = 4000


def _summary(run: RunRecord) -> dict[str, Any]:
    return {"id": run.id, "pipeline": run.pipeline, "status": run.status,
            "created_at": run.created_at, "finished_at": run.finished_at,
            "duration_s": None if run.finished_at is None else run.finished_at - run.created_at,
            "steps": len(run.steps), "cache_hits": run.cache_hits,
            "failed_steps": [s.name for s in run.steps if s.status == "failed"],
            "executor": run.executor, "resumes": run.resumes, "error": run.error}


@router.get("/api/runs", responses=errors(), dependencies=[require("predict")])
def list_runs(request: Request, pipeline: str | None = Query(None, max_length=200),
              status: str | None = Query(None, pattern="^(running|succeeded|failed|"
                                                        "interrupted)$"),
              since: float | None = Query(None, ge=0, description="Unix time: started after"),
              limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000)
              ) -> dict[str, Any]:
    """Runs newest first, filtered by pipeline, status and start time; page with offset."""
    runs = state_of(request).services.runs.list_runs(pipeline, limit + 1, offset=offset,
                                                     status=status, since=since)
    return {"runs": [_summary(r) for r in runs[:limit]], "offset": offset, "limit": limit,
            "more": len(runs) > limit}


@router.get("/api/runs/{run_id}", responses=errors(404), dependencies=[require("predict")])
def get_run(run_id: str, request: Request) -> dict[str, Any]:
    """One run: its steps with status, duration, attempts and cache hits, the DAG's edges
    (from the pipeline as registered now), parameters, each step's metrics, the dataset
    versions it read and the model versions it registered."""
    run = state_of(request).services.runs.get_run(run_id)
    steps = {s.name: s for s in run.steps}
    edges: list[list[str]] = []
    levels: list[list[str]] = [[s.name for s in run.steps]]
    try:
        pipeline = get_pipeline(run.pipeline)
    except PipelineNotFound:  # a user's own pipeline, run by path: its steps in one rank
        pipeline = None
    if pipeline is not None and set(pipeline.order) >= set(steps):
        levels = pipeline.levels()
        edges = [[u, name] for name in pipeline.order for u in sorted(pipeline.upstream(name))]
    state = state_of(request)
    return {**_summary(run), "params": run.params, "levels": levels, "edges": edges,
            "tracking_run_id": run.tracking_run_id,
            "tracking": _tracking(state.services.tracker, run),
            "datasets": read_by(state.services.db, run.id),
            "models": produced(state.registry, {run.id}).get(run.id, []),
            "step_records": {name: {
                "status": s.status, "cached": s.cached, "attempts": s.attempts,
                "duration_s": s.duration_s, "metrics": s.metrics, "error": s.error,
                "outputs": sorted(s.outputs), "has_log": bool(s.log_path)}
                for name, s in steps.items()}}


def _tracking(tracker: Any, run: RunRecord) -> dict[str, Any]:
    """What the tracker holds for the run: energy and CO2, each metric's curve (those logged
    at more than one step, e.g. per epoch) and the artifact files. A tracker that cannot be
    read leaves the rest of the page working and says why."""
    out: dict[str, Any] = {"energy_kwh": None, "co2_kg": None, "curves": {}, "artifacts": [],
                           "error": None}
    if not run.tracking_run_id:
        return out
    try:
        history = tracker.metric_history(run.tracking_run_id)
        files = tracker.list_artifacts(run.tracking_run_id)
    except GazerError as exc:
        return {**out, "error": str(exc)}
    latest = {k: v[-1][1] for k, v in history.items() if v}
    base = f"/api/runs/{run.id}/artifacts/"
    return {**out, "energy_kwh": latest.get("energy_kwh"), "co2_kg": latest.get("co2_kg"),
            "curves": {k: v for k, v in history.items() if len({step for step, _ in v}) > 1},
            "artifacts": [{"path": path, "bytes": size, "url": base + quote(path),
                           "image": (mimetypes.guess_type(path)[0] or "").startswith("image/")}
                          for path, size in files]}


@router.get("/api/runs/{run_id}/artifacts/{path:path}", response_class=Response,
            responses={**errors(404, 502), 200: {"content": {"application/octet-stream": {}},
                                                  "description": "The artifact file"}},
            dependencies=[require("predict")])
def artifact(run_id: str, path: str, request: Request) -> Response:
    """One artifact file of a run, as the tracker stored it: images inline, other files as
    a download."""
    state = state_of(request)
    run = state.services.runs.get_run(run_id)
    tracker = state.services.tracker
    tracking_id = run.tracking_run_id or ""
    known = dict(tracker.list_artifacts(tracking_id)) if tracking_id else {}
    if path not in known:
        raise NotFound(f"run {run_id} has no artifact {path!r}; it has "
                       f"{len(known)}: {', '.join(sorted(known)[:10]) or 'none'}")
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    disposition = "inline" if kind.startswith("image/") else "attachment"
    name = PurePosixPath(path).name
    return Response(tracker.read_artifact(tracking_id, path), media_type=kind,
                    headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''"
                                                    f"{quote(name)}"})


@router.get("/api/runs/{run_id}/steps/{step}/log", response_class=PlainTextResponse,
            responses=errors(404), dependencies=[require("admin")])
def step_log(run_id: str, step: str, request: Request,
             full: bool = Query(False, description="The whole log, not its tail")
             ) -> PlainTextResponse:
    """A step's log: its last 4,000 bytes, or all of it with ``full=true``."""
    record = state_of(request).services.runs.get_run(run_id).step(step)
    if not record.log_path or not Path(record.log_path).is_file():
        raise NotFound(f"step {step!r} of run {run_id} has no log file")
    data = Path(record.log_path).read_bytes()
    return PlainTextResponse((data if full else data[-TAIL_BYTES:]).decode(errors="replace"))



class Launched(BaseModel):
    run_id: str
    pipeline: str
    resumed: bool = Field(description="True: the same run continues from its failed step")
    url: str = Field(description="The run's page")


class Launcher:
    """Runs one pipeline at a time on a server thread, for the run page's buttons."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def launch(self, pipeline: str, params: dict[str, Any] | None, resume: str | None) -> str:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                raise Conflict(f"this server is running {self.thread.name} already; one run "
                               f"at a time from the console: wait for it to finish")
            started = threading.Event()
            found: dict[str, Any] = {}

            def echo(line: str) -> None:
                log.info("%s", line.strip())
                run_id = run_id_in(line)
                if run_id and "id" not in found:
                    found["id"] = run_id
                    started.set()

            def work() -> None:
                try:
                    self.services.run_pipeline(pipeline, params, resume=resume, echo=echo)
                except Exception as exc:  # noqa: BLE001 - stored on the run; logged here
                    found.setdefault("error", exc)
                    log.warning("console run of %s ended: %s", pipeline, exc)
                finally:
                    started.set()

            self.thread = threading.Thread(target=work, daemon=True,
                                           name=f"run of {pipeline!r}")
            self.thread.start()
        started.wait(60)
        if "id" in found:
            return str(found["id"])
        error = found.get("error")
        if isinstance(error, GazerError):
            raise error
        raise Conflict(f"the run of {pipeline!r} did not start: {error or 'no answer in 60 s'}")


def _launcher(request: Request) -> Launcher:
    app = request.app
    with _launcher_lock:
        if getattr(app.state, "run_launcher", None) is None:
            app.state.run_launcher = Launcher(state_of(request).services)
    return app.state.run_launcher  # type: ignore[no-any-return]


_launcher_lock = threading.Lock()


@admin_router.post("/runs/{run_id}/rerun", status_code=202, response_model=Launched,
                   responses=errors(404, 409, 502, 503))
def rerun(run_id: str, request: Request) -> Launched:
    """Run the run's pipeline again with the same parameters, as a new run (its steps'
    cache still applies); answers once it has started, with the new run's id."""
    run = state_of(request).services.runs.get_run(run_id)
    get_pipeline(run.pipeline)  # 404 for a pipeline this server does not know
    new = _launcher(request).launch(run.pipeline, dict(run.params), None)
    return Launched(run_id=new, pipeline=run.pipeline, resumed=False, url=f"/runs/{new}")


@admin_router.post("/runs/{run_id}/resume", status_code=202, response_model=Launched,
                   responses=errors(404, 409, 502, 503))
def resume(run_id: str, request: Request) -> Launched:
    """Continue a failed or interrupted run from its first unfinished step (the steps that
    succeeded are kept); 409 for a run that succeeded or is running."""
    run = state_of(request).services.runs.get_run(run_id)
    if run.status not in ("failed", "interrupted"):
        raise Conflict(f"only a failed or interrupted run resumes; run {run_id} is "
                       f"{run.status}" + ("; re-run it instead" if run.status == "succeeded"
                                          else ""))
    get_pipeline(run.pipeline)
    _launcher(request).launch(run.pipeline, {}, run_id)  # a resume reuses its own params
    return Launched(run_id=run_id, pipeline=run.pipeline, resumed=True, url=f"/runs/{run_id}")
