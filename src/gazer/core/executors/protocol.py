"""The ``Executor`` protocol: where step tasks run."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol, runtime_checkable

from gazer.core.task import StepResult, StepTask


@runtime_checkable
class Executor(Protocol):
    """Runs step tasks and hands back futures of their results."""

    name: str
    shares_memory: bool

    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start ``task``; the future never raises, failures are in the result."""

    def shutdown(self) -> None:
        """Release workers (threads, processes, a Ray connection)."""
