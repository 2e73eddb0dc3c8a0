"""The run store: runs and their steps in gazer's database (``gazer.db``).

SQLite under ``GAZER_HOME`` by default; a ``postgresql+psycopg://`` URL works unchanged;
``sqlite://`` is in-memory. Only the runner's coordinating thread writes, so there is one
writer per run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gazer.db import Database, RunRow, StepRow, open_database, process_alive, safe_url
from gazer.errors import RunNotFound

RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
PENDING, SKIPPED = "pending", "skipped"


@dataclasses.dataclass
class StepRecord:
    """One step of one run, as stored."""

    run_id: str
    name: str
    status: str
    cache_key: str
    cached: bool
    attempts: int
    started_at: float | None
    finished_at: float | None
    outputs: dict[str, Any]
    metrics: dict[str, Any]
    log_path: str | None
    error: str | None
    traceback: str | None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclasses.dataclass
class RunRecord:
    """One pipeline run with its steps, as stored."""

    id: str
    pipeline: str
    status: str
    params: dict[str, Any]
    executor: str
    created_at: float
    finished_at: float | None
    host: str
    pid: int
    tracking_run_id: str | None
    error: str | None
    resumes: int
    steps: list[StepRecord] = dataclasses.field(default_factory=list)

    def step(self, name: str) -> StepRecord:
        for s in self.steps:
            if s.name == name:
                return s
        raise RunNotFound(f"run {self.id} has no step {name!r}")

    @property
    def cache_hits(self) -> int:
        return sum(s.cached for s in self.steps)


def _fields(cls: type, row: Any) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(cls) if f.name != "steps"}


class SqlRunStore:
    """Runs and steps in a SQL database reached through SQLAlchemy."""

    def __init__(self, db: Database | str) -> None:
        """``db`` is the database the services share, or a URL to open one for this store."""
        self.db, self._owns_db = open_database(db)
        self.url = self.db.url

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    def create_run(self, pipeline: str, params: dict[str, Any], executor: str) -> RunRecord:
        now = dt.datetime.now(dt.UTC)
        run_id = f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        row = RunRow(
            id=run_id, pipeline=pipeline, status=RUNNING, params=params, executor=executor,
            created_at=now.timestamp(), finished_at=None, host=socket.gethostname(),
            pid=os.getpid(), tracking_run_id=None, error=None, resumes=0,
        )
        with self._session() as s:
            s.add(row)
        return self.get_run(run_id)

    def update_run(self, run_id: str, **fields: Any) -> None:
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise RunNotFound(f"no run {run_id!r}")
            for k, v in fields.items():
                setattr(row, k, v)

    def save_step(self, run_id: str, name: str, **fields: Any) -> None:
        """Create or update one step's row."""
        with self._session() as s:
            row = s.get(StepRow, (run_id, name))
            if row is None:
                row = StepRow(run_id=run_id, name=name, status=PENDING, cache_key="",
                              cached=False, attempts=0, outputs={}, metrics={})
                s.add(row)
            for k, v in fields.items():
                setattr(row, k, v)

    def get_run(self, run_id: str) -> RunRecord:
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise RunNotFound(
                    f"no run {run_id!r} in {safe_url(self.url)}; list runs with `gazer runs list`"
                )
            record = RunRecord(**_fields(RunRecord, row))
            steps = s.scalars(select(StepRow).where(StepRow.run_id == run_id)).all()
            record.steps = [StepRecord(**_fields(StepRecord, r)) for r in steps]
        return record

    def list_runs(self, pipeline: str | None = None, limit: int = 50, *, offset: int = 0,
                  status: str | None = None, since: float | None = None) -> list[RunRecord]:
        """Runs newest first, filtered by pipeline, status and start time, a page at a time."""
        with self._session() as s:
            q = select(RunRow.id).order_by(RunRow.created_at.desc())
            if pipeline:
                q = q.where(RunRow.pipeline == pipeline)
            if status:
                q = q.where(RunRow.status == status)
            if since is not None:
                q = q.where(RunRow.created_at >= since)
            ids = list(s.scalars(q.offset(offset).limit(limit)))
            rows = {r.id: r for r in s.scalars(select(RunRow).where(RunRow.id.in_(ids)))}
            steps: dict[str, list[StepRecord]] = {i: [] for i in ids}
            for r in s.scalars(select(StepRow).where(StepRow.run_id.in_(ids))):
                steps[r.run_id].append(StepRecord(**_fields(StepRecord, r)))
            records = []
            for i in ids:  # two queries for the page, not one per run
                record = RunRecord(**_fields(RunRecord, rows[i]))
                record.steps = steps[i]
                records.append(record)
        return records

    def find_cached(self, cache_key: str) -> dict[str, Any] | None:
        """Outputs of the newest succeeded step with this cache key, if any."""
        with self._session() as s:
            row = s.scalars(
                select(StepRow)
                .where(StepRow.cache_key == cache_key, StepRow.status == SUCCEEDED)
                .order_by(StepRow.finished_at.desc())
                .limit(1)
            ).first()
            return dict(row.outputs) if row is not None else None

    def reap_interrupted(self) -> list[str]:
        """Mark runs whose process died (``kill -9``, power loss) as interrupted."""
        host = socket.gethostname()
        reaped = []
        with self._session() as s:
            for row in s.scalars(select(RunRow).where(RunRow.status == RUNNING)):
                if row.host == host and not process_alive(row.pid, row.created_at):
                    row.status = INTERRUPTED
                    row.error = f"process {row.pid} stopped while the run was running"
                    row.finished_at = row.finished_at or dt.datetime.now(dt.UTC).timestamp()
                    reaped.append(row.id)
            for run_id in reaped:
                for step in s.scalars(select(StepRow).where(StepRow.run_id == run_id)):
                    if step.status == RUNNING:
                        step.status = INTERRUPTED
        return reaped

    def close(self) -> None:
        if self._owns_db:
            self.db.close()
