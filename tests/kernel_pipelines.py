"""Pipelines for the services tests: one that fails, one whose step runs in a child process."""

from __future__ import annotations

import os

from gazer import Pipeline, step
from gazer.core.context import current


@step(outputs="n")
def fine() -> int:
    return 1


@step(outputs="never")
def boom(n: int) -> int:
    raise ValueError(f"boom after {n}")


failing = Pipeline("failing", [fine, boom])


@step(outputs="pid", timeout_s=120)
def elsewhere() -> int:
    """Runs in its own process (a timeout): logs a metric through the described tracker."""
    current().log_metric("child_pid", float(os.getpid()))
    return os.getpid()


in_a_child = Pipeline("in_a_child", [elsewhere])


@step(outputs="size")
def measure(key: str = "") -> int:
    """The size of an object that landed (a watch binding passes its key)."""
    storage = current().storage
    assert storage is not None
    return len(storage.read_bytes(key))


landed = Pipeline("landed", [measure])
