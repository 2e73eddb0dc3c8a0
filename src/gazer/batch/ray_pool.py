"""A pool of Ray actors with the ``submit`` shape of ``concurrent.futures`` executors.

Each actor loads the model once and processes chunks sent to it round-robin, so a batch job
runs on a local Ray instance or an existing cluster with the same chunk files, ledger and
resume behaviour as on local processes. Ray is imported lazily.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class _ChunkActor:
    def __init__(self, loader: Callable[[], Any]) -> None:
        self.model = loader()

    def process(self, frame: Any, column: str, max_chars: int) -> Any:
        from gazer.batch.job import process_chunk

        return process_chunk(self.model, frame, column, max_chars)


class RayActorPool:
    """``workers`` actors; ``address`` names a cluster, else a local instance on 127.0.0.1."""

    def __init__(self, workers: int, loader: Callable[[], Any], address: str | None = None
                 ) -> None:
        import ray

        from gazer.core.executors.ray import connect

        self._ray = ray
        self._started_here = connect(address)
        actor: Any = ray.remote(num_cpus=1)(_ChunkActor)
        self._actors: list[Any] = [actor.remote(loader) for _ in range(workers)]
        self._next = itertools.cycle(self._actors)

    def submit(self, _fn: Callable[..., Any], frame: Any, column: str, max_chars: int
               ) -> Future[Any]:
        future: Future[Any] = next(self._next).process.remote(frame, column, max_chars).future()
        return future

    def __enter__(self) -> RayActorPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        if self._started_here:
            self._ray.shutdown()
