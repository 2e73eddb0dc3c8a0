"""Executors: where step tasks run (local threads, Ray)."""

from gazer.core.executors.local import LocalExecutor
from gazer.core.executors.protocol import Executor
from gazer.core.executors.resolve import open_executor

__all__ = ["Executor", "LocalExecutor", "open_executor"]
