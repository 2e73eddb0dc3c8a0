"""Run user SQL in a locked-down DuckDB inside a worker process.

DuckDB's security guide says to treat SQL like code. Every query a user sends
(``gazer query``, ``POST /api/enrichment/query``) goes through ``QuerySandbox.run``:

1. ``check_statement`` decides from DuckDB's parse that it is one read-only ``SELECT``.
2. A worker process (``gazer.sql.worker``: a crash or a runaway query cannot take the
   caller down) opens a fresh in-memory DuckDB with external access off, extension auto-install and
   auto-load off, Python replacement scans off, a memory limit, a thread limit and a private
   spill folder with a size cap; registers each table as an Arrow dataset that *pyarrow*
   reads (local folder or S3 through gazer's own storage), so DuckDB itself never opens a
   file; then locks the configuration.
3. A timer interrupts the query at ``timeout_s``; the caller kills the worker if it does not
   answer within a grace period after that, and starts a fresh one for the next query.
4. At most ``max_rows`` rows come back, streamed, and the result says when it was cut.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from gazer.errors import (
    GazerError,
    InvalidInput,
    QueryBusy,
    QueryCrashed,
    QueryLimitExceeded,
    QueryRefused,
)
from gazer.settings import QuerySettings, Settings
from gazer.sql.statement import check_statement

GRACE_S = 15.0  # table discovery (an S3 listing) plus the interrupt's own latency


@dataclasses.dataclass(frozen=True)
class Table:
    """A table user SQL may read: ``schema.name``, backed by Parquet under a storage prefix."""

    name: str
    prefix: str
    partitioning: str | None = "hive"


@dataclasses.dataclass
class QueryResult:
    """Rows of a query (at most the row cap), and whether more were left out."""

    frame: pd.DataFrame
    truncated: bool


class QuerySandbox:
    """A small pool of SQL worker processes, started on first use; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits: QuerySettings = settings.query
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.limits.workers)
        self._closed = False

    def run(self, sql: str, tables: Sequence[Table], max_rows: int | None = None
            ) -> QueryResult:
        """The result of ``sql`` over ``tables``; raises ``QueryRefused``,
        ``QueryLimitExceeded``, ``InvalidInput`` (DuckDB's own error), ``QueryBusy`` (every
        worker taken for ``queue_s``) or ``QueryCrashed``."""
        if max_rows is not None and max_rows < 1:
            raise InvalidInput(f"the row limit must be at least 1; got {max_rows}")
        if self._closed:
            raise QueryCrashed("the SQL sandbox is closed (the server is shutting down)")
        check_statement(sql)
        cap = min(max_rows or self.limits.max_rows, self.limits.max_rows)
        request = {"sql": sql, "tables": list(tables), "max_rows": cap}
        if not self._slots.acquire(timeout=self.limits.queue_s):
            raise QueryBusy(f"all {self.limits.workers} SQL worker(s) stayed busy for "
                            f"{self.limits.queue_s:g} s; retry shortly (GAZER_QUERY__WORKERS "
                            f"sets how many queries run at once)")
        try:
            reply = self._ask(request)
        finally:
            self._slots.release()
        status, payload = reply
        if status != "ok":
            raise _rebuild(payload)
        frame, truncated = payload
        return QueryResult(frame, truncated)

    def _ask(self, request: dict[str, Any]) -> tuple[str, Any]:
        worker = self._take()
        try:
            reply = worker.ask(request, self.limits.timeout_s + GRACE_S)
        except TimeoutError:
            worker.stop()
            raise QueryLimitExceeded("timeout", timeout_message(self.limits)) from None
        except Exception as exc:  # a dead worker or a garbled pipe: never reuse it
            code = worker.stop()
            raise QueryCrashed(f"the SQL worker process died (exit code {code}) while "
                               f"running the query; the server is unaffected and the next "
                               f"query gets a fresh worker") from exc
        if self._closed:
            worker.stop()
        else:
            self._idle.put(worker)
        return reply

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return _Worker(self.settings)
            if worker.alive():
                return worker
            worker.stop()

    def close(self) -> None:
        """Stop every idle worker (a running query's worker stops when it returns)."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return

    def __enter__(self) -> QuerySandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Worker:
    """One ``python -m gazer.sql.worker`` process answering pickled requests on its pipes.

    A plain subprocess rather than ``multiprocessing``: spawning re-imports the caller's
    ``__main__``, which breaks scripts without a main guard and ``python -`` sessions.
    """

    def __init__(self, settings: Settings) -> None:
        self.spill = tempfile.mkdtemp(prefix="gazer-sql-")  # DuckDB's only writable folder
        self.process = subprocess.Popen(  # nosec B603 # fixed argv, no shell
            [sys.executable, "-m", "gazer.sql.worker", self.spill], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, cwd=self.spill, start_new_session=True)  # no Ctrl-C
        assert self.process.stdin is not None and self.process.stdout is not None
        self._out = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self._in = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self._out.send(settings.model_dump(mode="json"))

    def ask(self, request: dict[str, Any], wait_s: float) -> tuple[str, Any]:
        self._out.send(request)
        if not self._in.poll(wait_s):
            raise TimeoutError
        reply: tuple[str, Any] = self._in.recv()
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int | None:
        for conn in (self._out, self._in):
            with contextlib.suppress(OSError):
                conn.close()
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(timeout=10)
        shutil.rmtree(self.spill, ignore_errors=True)
        return code


def timeout_message(limits: QuerySettings) -> str:
    return (f"the query ran past the {limits.timeout_s:g} s limit and was stopped; narrow it "
            f"(filters, LIMIT, fewer joins) or raise GAZER_QUERY__TIMEOUT_S")


def _rebuild(payload: tuple[str, str, str]) -> GazerError:
    kind, tag, message = payload
    if kind == "QueryRefused":
        return QueryRefused(tag, message)
    if kind == "QueryLimitExceeded":
        return QueryLimitExceeded(tag, message)
    if kind == "InvalidInput":
        return InvalidInput(message)
    return QueryCrashed(f"the query failed in the SQL worker ({kind}): {message}")
