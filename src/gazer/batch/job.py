"""``BatchJob``: run a registered model over a file in chunks, resumably.

The input (CSV, JSONL or Parquet, in any store) is read in chunks of ``chunk_rows``. Each
chunk's output is written atomically as ``OUTPUT/_parts/part-NNNNN.parquet`` (bad rows to
``errors-NNNNN.parquet`` with the reason) and recorded in the chunk ledger; a restarted job
(after ``kill -9``, say) skips recorded chunks whose parts exist. When every chunk is done
the parts are committed in input order to ``OUTPUT/predictions.parquet`` and
``OUTPUT/errors.parquet``, then ``OUTPUT/_SUCCESS`` with row counts: every input row appears
exactly once, in order, with ``row_id`` mapping back to its position in the input.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import pandas as pd

from gazer.batch.progress_store import ChunkLedger
from gazer.core.progress import Progress
from gazer.errors import InvalidInput
from gazer.storage.protocol import Storage

ROW_ID = "row_id"


@dataclasses.dataclass(frozen=True)
class BatchSpec:
    """What to run: a model reference, where to read and write, and how to chunk."""

    model: str  # NAME@ALIAS or NAME@VERSION
    input_key: str
    output_prefix: str
    column: str = "text"
    chunk_rows: int = 500
    max_chars: int = 100_000
    # input columns copied into the output beside ``row_id`` (like SageMaker's join source)
    keep: tuple[str, ...] = ()

    @property
    def model_name(self) -> str:
        return self.model.partition("@")[0]

    @property
    def model_ref(self) -> str:
        return self.model.partition("@")[2] or "champion"


@dataclasses.dataclass
class BatchResult:
    job_id: str
    rows: int
    predicted: int
    errors: int
    chunks: int
    skipped_chunks: int
    seconds: float


def read_chunks(storage: Storage, key: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The input in chunks, with ``row_id`` numbering rows from 0 across the whole file."""
    suffix = key.rsplit(".", 1)[-1].lower()
    start = 0
    with storage.open(key) as fh:
        if suffix == "csv":
            chunks: Any = pd.read_csv(fh, chunksize=chunk_rows, dtype=str, keep_default_na=False)
        elif suffix in ("jsonl", "ndjson"):
            chunks = pd.read_json(io.TextIOWrapper(fh, encoding="utf-8"), lines=True,
                                  chunksize=chunk_rows, dtype=False)
        elif suffix == "parquet":
            import pyarrow.parquet as pq

            chunks = (b.to_pandas() for b in pq.ParquetFile(fh).iter_batches(chunk_rows))
        else:
            raise InvalidInput(f"batch input must be .csv, .jsonl or .parquet; got {key!r}")
        for frame in chunks:
            frame = frame.reset_index(drop=True)
            frame.insert(0, ROW_ID, range(start, start + len(frame)))
            start += len(frame)
            yield frame


def job_id_for(spec: BatchSpec, version: int, storage: Storage) -> str:
    """Same model version, input object, output and chunking → same job (so it resumes)."""
    info = storage.info(spec.input_key)
    parts: list[Any] = [spec.model_name, version, spec.input_key, info.size, info.etag,
                        info.modified, spec.output_prefix, spec.column, spec.chunk_rows]
    if spec.keep:  # (jobs without kept columns keep the ids they always had)
        parts.append(list(spec.keep))
    blob = json.dumps(parts)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


RESERVED = (ROW_ID, "prediction", "reason")


def check_keep(frame: pd.DataFrame, keep: tuple[str, ...]) -> None:
    """``keep`` must name input columns, and none of the output's own."""
    clash = [c for c in keep if c in RESERVED]
    if clash:
        raise InvalidInput(f"--keep cannot name {', '.join(clash)}: the output has its own "
                           f"{', '.join(RESERVED)} columns")
    missing = [c for c in keep if c not in frame.columns]
    if missing:
        raise InvalidInput(f"--keep names column(s) the input does not have: "
                           f"{', '.join(missing)}; its columns: "
                           f"{', '.join(str(c) for c in frame.columns if c != ROW_ID)}")


def with_kept(out: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """``out`` with the kept input columns after ``row_id``, in ``out``'s row order."""
    extra = [c for c in kept.columns if c != ROW_ID and c not in out.columns]
    if not extra:
        return out
    joined = out[[ROW_ID]].merge(kept[[ROW_ID, *extra]], on=ROW_ID, how="left")
    for i, name in enumerate(extra, start=1):
        out.insert(i, name, joined[name].to_numpy())
    return out


def split_bad_rows(frame: pd.DataFrame, column: str, max_chars: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows the model can take, and the others with the reason."""
    if column not in frame.columns:
        raise InvalidInput(f"batch input has no column {column!r}; columns: "
                           f"{', '.join(c for c in frame.columns if c != ROW_ID)}")
    values = frame[column]
    reasons = pd.Series("", index=frame.index, dtype=object)
    not_text = ~values.map(lambda v: isinstance(v, str))
    reasons[not_text] = values[not_text].map(lambda v: f"expected text; got {type(v).__name__}")
    text = values.where(~not_text, "")
    reasons[~not_text & (text.str.strip() == "")] = "empty text"
    too_long = ~not_text & (text.str.len() > max_chars)
    reasons[too_long] = text[too_long].map(lambda v: f"text over {max_chars} characters "
                                                     f"({len(v)})")
    bad = reasons != ""
    errors = frame.loc[bad, [ROW_ID, column]].assign(reason=reasons[bad])
    errors[column] = errors[column].astype(str).str.slice(0, 200)
    return frame.loc[~bad], errors


def process_chunk(model: Any, frame: pd.DataFrame, column: str, max_chars: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions for the good rows of one chunk, and the bad rows with reasons."""
    good, errors = split_bad_rows(frame, column, max_chars)
    out = good[[ROW_ID]].copy()
    if len(good):
        out["prediction"] = list(model.predict(good[column].to_numpy(dtype=object)))
    else:
        out["prediction"] = pd.Series(dtype=object)
    return out, errors


_worker_model: Any = None
_thread_limit: Any = None


def _init_worker(loader: Callable[[], Any], threads: int = 1) -> None:
    global _worker_model, _thread_limit
    # N workers × M native threads on N cores thrash (OpenMP spins): give each its share
    from threadpoolctl import threadpool_limits

    _thread_limit = threadpool_limits(limits=threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    from gazer.ml import embeddings

    embeddings.configure(threads=threads)  # ONNX sessions too
    _worker_model = loader()


def _run_in_worker(frame: pd.DataFrame, column: str, max_chars: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    return process_chunk(_worker_model, frame, column, max_chars)


def _write_parquet(storage: Storage, key: str, frame: pd.DataFrame) -> None:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    storage.write_bytes(key, buf.getvalue())


def write_parts(target: Storage, prefix: str, index: int, out: pd.DataFrame,
                errors: pd.DataFrame) -> str:
    """Chunk ``index``'s predictions and refused rows as part files; returns the part's key.
    Writing a chunk again replaces its parts (a chunk is never counted twice)."""
    part = f"{prefix}/_parts/part-{index:05d}.parquet"
    _write_parquet(target, f"{prefix}/_parts/errors-{index:05d}.parquet", errors)
    _write_parquet(target, part, out)
    return part


# local: processes on this machine; ray: an actor pool fed by the driver; ray-data: Ray Data
# actors that read their chunks from storage and write their parts there themselves
EXECUTORS = ("local", "ray", "ray-data")


class BatchRunner:
    """Runs ``BatchSpec``s on a local process pool, Ray actors or Ray Data: reads ``source``,
    writes ``target``."""

    def __init__(self, source: Storage, target: Storage, ledger: ChunkLedger, workers: int = 2,
                 echo: Callable[[str], None] | None = None,
                 on_rows: Callable[[int, int], None] | None = None,
                 executor: str = "local", ray_address: str | None = None) -> None:
        if executor not in EXECUTORS:
            raise InvalidInput(f"batch executor must be one of {', '.join(EXECUTORS)}; got "
                               f"{executor!r}")
        self.executor, self.ray_address = executor, ray_address
        self.source, self.target = source, target
        self.ledger, self.workers = ledger, workers
        self.on_rows = on_rows or (lambda _done, _total: None)
        self._done_rows = 0
        self._total_rows = 0
        self.echo = echo or (lambda _line: None)

    def run(self, spec: BatchSpec, loader: Callable[[], Any], version: int) -> BatchResult:
        started = time.perf_counter()
        job_id = job_id_for(spec, version, self.source)
        done = {i: r for i, r in self.ledger.finished(job_id).items()
                if self.target.exists(r.part_key)}
        self.echo(f"batch job {job_id[:12]}: {spec.model} over {spec.input_key}"
                  + (f", resuming with {len(done)} chunk(s) done" if done else ""))
        total_rows = self._count_rows(spec)
        self._done_rows, self._total_rows = 0, total_rows
        progress = iter(Progress(range(total_rows), total=total_rows, desc="rows", every_s=5.0))
        chunks = 0
        if self.executor == "ray-data":
            chunks = self._on_ray_data(spec, job_id, loader, done, progress)
            predicted, errors = self._commit(spec, job_id, chunks)
            return BatchResult(job_id, predicted + errors, predicted, errors, chunks, len(done),
                               time.perf_counter() - started)
        with self._pool(loader) as pool:
            pending: dict[Future[Any], tuple[int, int, pd.DataFrame | None]] = {}
            for index, frame in self._chunks_to_run(spec, done, progress):
                chunks = index + 1
                if frame is None:
                    continue
                kept = frame[[ROW_ID, *spec.keep]] if spec.keep else None
                pending[pool.submit(_run_in_worker, frame, spec.column, spec.max_chars)] = \
                    (index, len(frame), kept)
                if len(pending) >= self.workers * 2:
                    self._collect(spec, job_id, pending, progress, block=True)
            while pending:
                self._collect(spec, job_id, pending, progress, block=True)
        for _ in progress:
            pass
        predicted, errors = self._commit(spec, job_id, chunks)
        return BatchResult(job_id, predicted + errors, predicted, errors, chunks, len(done),
                           time.perf_counter() - started)

    def _collect(self, spec: BatchSpec, job_id: str,
                 pending: dict[Future[Any], tuple[int, int, pd.DataFrame | None]],
                 progress: Iterator[int], block: bool) -> None:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            index, rows, kept = pending.pop(future)
            out, errors = future.result()
            if kept is not None:
                out, errors = with_kept(out, kept), with_kept(errors, kept)
            part = write_parts(self.target, spec.output_prefix, index, out, errors)
            self.ledger.record(job_id, index, len(out), len(errors), part)
            self._advance(progress, rows)

    def _chunks_to_run(self, spec: BatchSpec, done: dict[int, Any], progress: Iterator[int]
                       ) -> Iterator[tuple[int, pd.DataFrame | None]]:
        """Each chunk of the input: its frame, or None for one already done (counted as
        progress); ``keep`` is checked against the first chunk."""
        for index, frame in enumerate(read_chunks(self.source, spec.input_key,
                                                  spec.chunk_rows)):
            if index == 0:
                check_keep(frame, spec.keep)
            if index in done:
                self._advance(progress, len(frame))
                yield index, None
            else:
                yield index, frame

    def _on_ray_data(self, spec: BatchSpec, job_id: str, loader: Callable[[], Any],
                     done: dict[int, Any], progress: Iterator[int]) -> int:
        """The chunks not done yet, on Ray Data; returns the number of chunks of the input."""
        from gazer.batch.ray_data import run_chunks

        chunks, pending = 0, []
        for index, frame in self._chunks_to_run(spec, done, progress):
            chunks = index + 1
            if frame is not None:
                pending.append(index)
        source, target = self.source.describe(), self.target.describe()
        if source is None or target is None:
            raise InvalidInput("the ray-data executor needs storage its workers can open "
                               "(a folder or S3); got in-memory storage")
        if pending:
            for row in run_chunks(pending, loader, source, target, spec, self.workers,
                                  self.ray_address):
                self.ledger.record(job_id, row["index"], row["predicted"], row["errors"],
                                   row["part"])
                self._advance(progress, row["rows"])
        return chunks

    def _pool(self, loader: Callable[[], Any]) -> Any:
        if self.executor == "ray":
            from gazer.batch.ray_pool import RayActorPool

            return RayActorPool(self.workers, loader, self.ray_address)
        context = multiprocessing.get_context("spawn")  # no forking a threaded process
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                   initargs=(loader, threads))

    def _advance(self, progress: Iterator[int], n: int) -> None:
        for _ in range(n):
            next(progress, None)
        self._done_rows += n
        self.on_rows(self._done_rows, self._total_rows)

    def _count_rows(self, spec: BatchSpec) -> int:
        return sum(len(f) for f in read_chunks(self.source, spec.input_key, 50_000))

    def _commit(self, spec: BatchSpec, job_id: str, chunks: int) -> tuple[int, int]:
        parts, errors = [], []
        for index in range(chunks):
            prefix = f"{spec.output_prefix}/_parts"
            parts.append(pd.read_parquet(io.BytesIO(
                self.target.read_bytes(f"{prefix}/part-{index:05d}.parquet"))))
            errors.append(pd.read_parquet(io.BytesIO(
                self.target.read_bytes(f"{prefix}/errors-{index:05d}.parquet"))))
        predictions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        bad = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame()
        _write_parquet(self.target, f"{spec.output_prefix}/predictions.parquet", predictions)
        _write_parquet(self.target, f"{spec.output_prefix}/errors.parquet", bad)
        summary = {"job_id": job_id, "model": spec.model, "input": spec.input_key,
                   "rows": len(predictions) + len(bad), "predicted": len(predictions),
                   "errors": len(bad), "chunks": chunks, "finished_at": time.time(),
                   "pid": os.getpid()}
        self.target.write_bytes(f"{spec.output_prefix}/_SUCCESS",
                                 json.dumps(summary, indent=2).encode())
        return len(predictions), len(bad)

