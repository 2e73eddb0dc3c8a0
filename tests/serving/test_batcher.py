"""Adaptive batching: concurrent requests share model calls and get their own rows back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gazer.errors import InvalidInput
from gazer.serving.batcher import Batcher
from gazer.serving.model import ServedModel


class RowSum:
    """Answers each row's sum; records the batch sizes it was called with."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.entered: list[int] = []  # rows that reached the model (and wait at the gate)
        self.gate = threading.Event()

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.entered.append(len(x))
        self.gate.wait()
        self.calls.append(len(x))
        if x.shape[1] != 3:
            raise ValueError(f"expected 3 columns, got {x.shape[1]}")
        return x.sum(axis=1)


def test_concurrent_requests_are_batched_and_answered_with_their_own_rows() -> None:
    model = RowSum()
    served = ServedModel("m", 1, model)
    batcher = Batcher()
    inputs = [np.full((2, 3), float(i)) for i in range(12)]
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(batcher.predict, served, x) for x in inputs]
        # wait (no timeout: no timing assumption) until every request is either in the model
        # call held by the gate or queued behind it
        while sum(model.entered) // 2 + batcher._queue.qsize() < 12:
            threading.Event().wait(0.01)
        model.gate.set()
        results = [f.result()["predict"] for f in futures]
    for i, result in enumerate(results):
        assert result.tolist() == [3.0 * i, 3.0 * i]
    assert len(model.calls) < 12 and sum(model.calls) == 24
    batcher.close()


def test_a_bad_request_fails_alone_in_its_batch() -> None:
    model = RowSum()
    model.gate.set()
    served = ServedModel("m", 1, model)
    batcher = Batcher()
    with pytest.raises(InvalidInput, match="refused the input"):
        batcher.predict(served, np.zeros((1, 4)))
    assert batcher.predict(served, np.ones((1, 3)))["predict"].tolist() == [3.0]
    batcher.close()
