"""Pick the executor by name."""

from __future__ import annotations

from gazer.core.executors.local import LocalExecutor
from gazer.core.executors.protocol import Executor
from gazer.errors import InvalidInput
from gazer.settings import Settings


def open_executor(kind: str, settings: Settings) -> Executor:
    """``local`` (threads) or ``ray`` (a Ray instance or cluster)."""
    if kind == "local":
        return LocalExecutor(settings.executor.max_workers)
    if kind == "ray":
        from gazer.core.executors.ray import RayExecutor

        return RayExecutor(settings.executor.ray_address)
    raise InvalidInput(f"executor must be 'local' or 'ray'; got {kind!r}")
