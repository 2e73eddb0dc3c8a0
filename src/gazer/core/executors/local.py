"""``LocalExecutor``: steps on a thread pool, so independent steps run in parallel.

A step with ``timeout_s`` runs in its own spawned process instead, the only way to stop
Python code that overruns; its task travels with cloudpickle.

Step threads import one at a time: two parallel steps importing parts of one library for the
first time (``sklearn.linear_model`` and ``sklearn.tree``, say, when the steps before them were
cache hits) can otherwise meet a half-initialised module and fail with "cannot import name ...
from partially initialized module". Other threads' imports are untouched.

Why wrapping ``builtins.__import__`` (process-wide) and nothing narrower: the imports that
race are inside the steps' own code and the libraries they call, which gazer does not see
before they run; CPython's per-module import locks break such a cycle between two threads
by handing one of them the half-initialised module (its deadlock avoidance), and only a
lock taken around every import statement a step thread executes prevents that. The wrapper
takes that lock for threads named ``gazer-step-*`` only and is installed once, when the
first local executor starts.
"""

from __future__ import annotations

import builtins
import multiprocessing
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from gazer.core.task import StepResult, StepTask, execute_task

THREAD_PREFIX = "gazer-step"
_IMPORT_LOCK = threading.RLock()
_original_import = builtins.__import__


def _step_thread_import(name: str, globals: Any = None, locals: Any = None,  # noqa: A002
                        fromlist: Any = (), level: int = 0) -> Any:
    if threading.current_thread().name.startswith(THREAD_PREFIX):
        with _IMPORT_LOCK:
            return _original_import(name, globals, locals, fromlist, level)
    return _original_import(name, globals, locals, fromlist, level)


def _serialise_step_imports() -> None:
    """Install the import wrapper once per process (idempotent)."""
    if builtins.__import__ is not _step_thread_import:
        builtins.__import__ = _step_thread_import


class LocalExecutor:
    """Run tasks on up to ``max_workers`` threads of this process."""

    name = "local"
    shares_memory = True

    def __init__(self, max_workers: int = 4) -> None:
        _serialise_step_imports()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=THREAD_PREFIX)

    def submit(self, task: StepTask) -> Future[StepResult]:
        if task.step.timeout_s is not None:
            return self._pool.submit(run_with_timeout, task)
        return self._pool.submit(execute_task, task)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _child(payload: bytes, conn: Any) -> None:
    import cloudpickle

    task = cloudpickle.loads(payload)
    conn.send_bytes(cloudpickle.dumps(execute_task(task)))
    conn.close()


def run_with_timeout(task: StepTask) -> StepResult:
    """Execute ``task`` in a child process; kill it after ``task.step.timeout_s``."""
    import cloudpickle

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    started = time.time()
    proc = ctx.Process(target=_child, args=(cloudpickle.dumps(task), child), daemon=True)
    proc.start()
    child.close()
    limit = task.step.timeout_s or 0.0
    if parent.poll(limit):
        try:
            result: StepResult = cloudpickle.loads(parent.recv_bytes())
            proc.join(5)
            return result
        except EOFError:
            pass
    proc.kill()
    proc.join(5)
    reason = (f"timed out after {limit:g}s" if proc.exitcode in (None, -9)
              else f"its process exited with code {proc.exitcode}")
    return StepResult({}, 1, started, time.time(), error=f"step {task.step.name!r} {reason}")
