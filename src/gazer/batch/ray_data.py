"""Batch chunks on Ray Data: the job's pending chunk numbers become a dataset, mapped by a pool
of actors that each load the model once, read their chunks from the job's storage (S3 on a
cluster) and write their part files back there. The driver only streams the results and
records each finished chunk in the ledger, so a job whose driver is killed resumes from its
finished chunks like any other: a part written but not yet recorded is computed again and
overwritten with the same rows, never added twice. Ray is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd


class ChunkWorker:
    """One Ray Data actor: ``__call__`` takes a batch of chunk numbers, returns what came of
    each (rows predicted, rows refused, the part's key)."""

    def __init__(self, loader: Callable[[], Any], source: Any, target: Any, spec: Any) -> None:
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1)  # one core per actor, as Ray counts it
        self.model = loader()
        self.source, self.target = source.open(), target.open()
        self.spec = spec
        self._chunks: list[pd.DataFrame] | None = None

    def _chunk(self, index: int) -> pd.DataFrame:
        from gazer.batch.job import read_chunks

        if self._chunks is None:  # the input once per actor, then a chunk is a list lookup
            self._chunks = list(read_chunks(self.source, self.spec.input_key,
                                            self.spec.chunk_rows))
        return self._chunks[index]

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from gazer.batch.job import ROW_ID, process_chunk, with_kept, write_parts

        done: dict[str, list[Any]] = {"index": [], "rows": [], "predicted": [], "errors": [],
                                      "part": []}
        for index in (int(i) for i in batch["index"]):
            frame = self._chunk(index)
            out, errors = process_chunk(self.model, frame, self.spec.column,
                                        self.spec.max_chars)
            if self.spec.keep:
                kept = frame[[ROW_ID, *self.spec.keep]]
                out, errors = with_kept(out, kept), with_kept(errors, kept)
            part = write_parts(self.target, self.spec.output_prefix, index, out, errors)
            for key, value in (("index", index), ("rows", len(frame)),
                               ("predicted", len(out)), ("errors", len(errors)),
                               ("part", part)):
                done[key].append(value)
        return done


def run_chunks(pending: list[int], loader: Callable[[], Any], source: Any, target: Any,
               spec: Any, workers: int, address: str | None) -> Iterator[dict[str, Any]]:
    """Stream ``{"index", "rows", "predicted", "errors", "part"}`` for every pending chunk as
    Ray Data finishes it (in no particular order)."""
    import ray

    from gazer.core.executors.ray import connect

    started_here = connect(address)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # gazer's own progress line says rows and ETA
        dataset = ray.data.from_items([{"index": i} for i in pending],
                                      override_num_blocks=max(1, len(pending)))
        results = dataset.map_batches(
            ChunkWorker, fn_constructor_args=(loader, source, target, spec), batch_size=1,
            concurrency=max(1, min(workers, len(pending))), num_cpus=1, batch_format="numpy")
        for row in results.iter_rows():
            yield {k: (str(v) if k == "part" else int(v)) for k, v in row.items()}
    finally:
        if started_here:
            ray.shutdown()
