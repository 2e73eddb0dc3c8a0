"""Adaptive micro-batching: concurrent requests share one model call.

A request thread hands its rows to the batcher and waits. The batcher thread takes
whatever is queued *right now* (it never waits to fill a batch), so a lone request pays
only a thread hand-off, while under load the requests that queued during the previous
model call go through together: the model's per-call cost is paid once per batch.
Answers are split back by row counts; rows never mix across models or output sets.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from concurrent.futures import Future
from typing import Any

import numpy as np

from gazer.serving.model import ServedModel


@dataclasses.dataclass
class _Item:
    model: ServedModel
    rows: np.ndarray
    outputs: frozenset[str] | None
    future: Future[dict[str, np.ndarray]]


class Batcher:
    """One thread that runs queued predictions in batches of up to ``max_rows`` rows."""

    def __init__(self, max_rows: int = 64) -> None:
        self.max_rows = max_rows
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self.batches = 0
        self.items = 0
        self._thread = threading.Thread(target=self._run, name="gazer-batcher", daemon=True)
        self._thread.start()

    def predict(self, model: ServedModel, rows: np.ndarray,
                outputs: set[str] | None = None) -> dict[str, np.ndarray]:
        """Predict ``rows`` with ``model``, possibly together with other requests."""
        return self.submit(model, rows, outputs).result()

    def submit(self, model: ServedModel, rows: np.ndarray,
               outputs: set[str] | None = None) -> Future[dict[str, np.ndarray]]:
        """Queue ``rows`` for ``model``; the future holds the answer (an event loop awaits it
        with ``asyncio.wrap_future`` instead of parking a thread on it)."""
        future: Future[dict[str, np.ndarray]] = Future()
        self._queue.put(_Item(model, rows, frozenset(outputs) if outputs else None, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            rows = len(first.rows)
            while rows < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                items.append(item)
                rows += len(item.rows)
            for group in _groups(items):
                self._serve(group)

    def _serve(self, group: list[_Item]) -> None:
        self.batches += 1
        self.items += len(group)
        head = group[0]
        if len(group) == 1:
            _settle(head, lambda: head.model.predict(head.rows, _set(head.outputs)))
            return
        try:
            joined = head.model.predict(np.concatenate([i.rows for i in group]),
                                        _set(head.outputs))
        except Exception:  # one bad request must not fail the others: answer one by one
            for item in group:
                _settle(item, lambda item=item: item.model.predict(item.rows, _set(item.outputs)))
            return
        start = 0
        for item in group:
            stop = start + len(item.rows)
            item.future.set_result({k: v[start:stop] for k, v in joined.items()})
            start = stop

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)


def _set(outputs: frozenset[str] | None) -> set[str] | None:
    return set(outputs) if outputs else None


def _settle(item: _Item, call: Any) -> None:
    try:
        item.future.set_result(call())
    except BaseException as exc:  # handed to the waiting request thread, which re-raises
        item.future.set_exception(exc)


def _groups(items: list[_Item]) -> list[list[_Item]]:
    groups: dict[tuple[int, frozenset[str] | None, tuple[int, ...], str], list[_Item]] = {}
    for item in items:
        key = (id(item.model), item.outputs, item.rows.shape[1:], item.rows.dtype.str)
        groups.setdefault(key, []).append(item)
    return list(groups.values())
