"""Batch jobs over HTTP: upload a CSV, follow its progress, download the result.

The router needs the server's ``Services`` at ``app.state.gazer.services``; the serving app
includes it behind the ``predict`` scope.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from gazer.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

MAX_UPLOAD = 50 * 2**20
NO_JOB: dict[int | str, dict[str, Any]] = {
    404: {"description": "No batch job with that id on this server"}}
NOT_DONE: dict[int | str, dict[str, Any]] = {409: {"description": "The job is not done yet"}}


class JobStarted(BaseModel):
    job: str
    status_url: str


@dataclasses.dataclass
class JobState:
    id: str
    model: str
    input_key: str
    output_prefix: str
    status: str = "queued"
    rows_done: int = 0
    rows_total: int = 0
    predicted: int = 0
    errors: int = 0
    error: str | None = None
    started_at: float = dataclasses.field(default_factory=time.time)
    finished_at: float | None = None


def _jobs(request: Request) -> dict[str, JobState]:
    state = request.app.state
    if not hasattr(state, "batch_jobs"):
        state.batch_jobs = {}
    jobs: dict[str, JobState] = state.batch_jobs
    return jobs


def _run(services: Any, job: JobState, column: str) -> None:
    """The job, on a background thread: counts for the poller, the error if it fails."""
    job.status = "running"

    def rows(done: int, total: int) -> None:
        job.rows_done, job.rows_total = done, total

    try:
        result = services.start_batch(job.model, job.input_key, job.output_prefix,
                                      column=column, chunk_rows=200, workers=1,
                                      source=services.storage, on_rows=rows)
        job.predicted, job.errors, job.status = result.predicted, result.errors, "done"
    except Exception as exc:  # a background job's boundary: record it for the poller
        job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        job.finished_at = time.time()


def start_job(request: Request, file: UploadFile = File(description="A CSV with a text column"),
              column: str = Form("text"), model: str = Form("summarizer@champion")
              ) -> JobStarted:
    """Store the upload in ``landing/uploads/`` and start a batch job on it."""
    state = request.app.state.gazer
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge(f"upload must be at most {MAX_UPLOAD} bytes")
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=1, dtype=str)
    except Exception as exc:
        raise InvalidInput(f"expected a CSV file; could not read it: {exc}") from exc
    if column not in header.columns:
        raise InvalidInput(f"the CSV has no column {column!r}; columns: "
                           f"{', '.join(map(str, header.columns))}")
    job_id = uuid.uuid4().hex[:12]
    key = f"landing/uploads/{job_id}.csv"
    state.services.storage.write_bytes(key, data)
    job = JobState(job_id, model, key, f"output/uploads/{job_id}")
    _jobs(request)[job_id] = job
    threading.Thread(target=_run, args=(state.services, job, column), daemon=True).start()
    return JobStarted(job=job_id, status_url=f"/api/batch/jobs/{job_id}")


def _job(request: Request, job_id: str) -> JobState:
    job = _jobs(request).get(job_id)
    if job is None:
        raise NotFound(f"no batch job {job_id!r} on this server")
    return job


def job_status(job_id: str, request: Request) -> dict[str, Any]:
    """Status, rows done of rows total, counts, and the download link when done."""
    job = _job(request, job_id)
    out = dataclasses.asdict(job)
    if job.status == "done":
        out["download_url"] = f"/api/batch/jobs/{job_id}/result.csv"
    return out


def job_result(job_id: str, request: Request) -> Response:
    """The input rows with a ``prediction`` column (empty for rows in the errors file)."""
    job = _job(request, job_id)
    if job.status != "done":
        raise Conflict(f"batch job {job_id} is {job.status}, not done: poll "
                       f"/api/batch/jobs/{job_id} until its status is done")
    storage = request.app.state.gazer.services.storage
    inputs = pd.read_csv(io.BytesIO(storage.read_bytes(job.input_key)), dtype=str,
                         keep_default_na=False)
    preds = pd.read_parquet(io.BytesIO(storage.read_bytes(
        f"{job.output_prefix}/predictions.parquet")))
    errors = pd.read_parquet(io.BytesIO(storage.read_bytes(f"{job.output_prefix}/errors.parquet")))
    inputs["prediction"] = pd.Series(preds["prediction"].to_numpy(), index=preds["row_id"])
    inputs["error"] = pd.Series(errors["reason"].to_numpy(), index=errors["row_id"])
    return Response(inputs.to_csv(index=False), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="{job_id}.csv"'})


def make_router(dependencies: Sequence[Any] = ()) -> APIRouter:
    """The routes under ``/api/batch``, each behind ``dependencies`` (the serving app passes
    its ``predict`` scope check)."""
    router = APIRouter(prefix="/api/batch", tags=["batch jobs"], dependencies=list(dependencies))
    router.add_api_route("/jobs", start_job, methods=["POST"], status_code=202,
                         response_model=JobStarted)
    router.add_api_route("/jobs/{job_id}", job_status, methods=["GET"], responses=NO_JOB)
    router.add_api_route("/jobs/{job_id}/result.csv", job_result, methods=["GET"],
                         response_class=Response, responses={
                             200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                   "description": "The input rows with prediction and error "
                                                  "columns"},
                             **NO_JOB, **NOT_DONE})
    return router
