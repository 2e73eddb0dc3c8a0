"""Batch jobs: chunks, bad rows, exactly-once output in order, resume after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from gazer.batch.job import BatchRunner, BatchSpec
from gazer.batch.progress_store import ChunkLedger
from gazer.storage.local import LocalStorage
from tests.batch.crashable_model import tfidf_summarizer

DOCS = [
    "The battery lasts two days. Charging is quick. The screen is sharp. The camera is weak.",
    "Support replied fast. They fixed it. I am happy. The price was fair.",
]


def _input(storage: LocalStorage, n: int, bad: dict[int, object] | None = None) -> str:
    texts: list[object] = [f"Row {i} text. " + DOCS[i % 2] for i in range(n)]
    for i, value in (bad or {}).items():
        texts[i] = value
    frame = pd.DataFrame({"id": range(n), "text": texts})
    storage.write_bytes("landing/reviews/in.jsonl",
                        frame.to_json(orient="records", lines=True).encode())
    return "landing/reviews/in.jsonl"


def test_every_row_comes_out_once_in_order_and_bad_rows_are_reported(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    key = _input(storage, 23, bad={3: "", 7: 12345, 11: "x" * 300})
    ledger = ChunkLedger(f"sqlite:///{tmp_path / 'runs.db'}")
    spec = BatchSpec("summarizer@champion", key, "output/reviews/in", chunk_rows=5,
                     max_chars=250)
    result = BatchRunner(storage, storage, ledger, workers=2).run(spec, tfidf_summarizer, 1)
    assert (result.rows, result.predicted, result.errors, result.chunks) == (23, 20, 3, 5)
    out = pd.read_parquet(storage.local_path("output/reviews/in/predictions.parquet"))
    errors = pd.read_parquet(storage.local_path("output/reviews/in/errors.parquet"))
    assert sorted([*out["row_id"], *errors["row_id"]]) == list(range(23))
    assert list(out["row_id"]) == sorted(out["row_id"])
    assert dict(zip(errors["row_id"], errors["reason"], strict=True)) == {
        3: "empty text", 7: "expected text; got int", 11: "text over 250 characters (300)"}
    first = out.iloc[0]["prediction"]
    assert first.startswith("Row 0 text.") or "battery" in first or "screen" in first
    success = json.loads(storage.read_bytes("output/reviews/in/_SUCCESS"))
    assert success["rows"] == 23 and success["errors"] == 3


def test_a_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    key = _input(storage, 4)
    spec = BatchSpec("m", key, "output/x", column="body")
    runner = BatchRunner(storage, storage, ChunkLedger("sqlite://"), workers=1)
    with pytest.raises(Exception, match="no column 'body'; columns: id, text"):
        runner.run(spec, tfidf_summarizer, 1)


def test_kept_input_columns_come_out_beside_row_id_so_results_join_back(tmp_path: Path
                                                                       ) -> None:
    storage = LocalStorage(tmp_path / "store")
    key = _input(storage, 12, bad={4: ""})
    spec = BatchSpec("summarizer@champion", key, "output/kept", chunk_rows=5,
                     keep=("id", "text"))
    result = BatchRunner(storage, storage, ChunkLedger("sqlite://"), workers=1).run(
        spec, tfidf_summarizer, 1)
    assert (result.predicted, result.errors) == (11, 1)
    out = pd.read_parquet(storage.local_path("output/kept/predictions.parquet"))
    assert list(out.columns) == ["row_id", "id", "text", "prediction"]
    assert (out["id"] == out["row_id"]).all()  # the input's own id, row for row
    assert out.loc[out["id"] == 5, "text"].item().startswith("Row 5 text.")
    errors = pd.read_parquet(storage.local_path("output/kept/errors.parquet"))
    assert errors["id"].tolist() == [4] and errors["reason"].tolist() == ["empty text"]
    plain = BatchSpec("summarizer@champion", key, "output/kept", chunk_rows=5)
    from gazer.batch.job import job_id_for

    assert job_id_for(plain, 1, storage) != job_id_for(spec, 1, storage)


@pytest.mark.parametrize(("keep", "message"), [
    (("lang",), "does not have: lang; its columns: id, text"),
    (("prediction",), "cannot name prediction"),
])
def test_keep_names_input_columns_only(tmp_path: Path, keep: tuple[str, ...],
                                       message: str) -> None:
    storage = LocalStorage(tmp_path / "store")
    spec = BatchSpec("m", _input(storage, 3), "output/x", keep=keep)
    runner = BatchRunner(storage, storage, ChunkLedger("sqlite://"), workers=1)
    with pytest.raises(Exception, match=message):
        runner.run(spec, tfidf_summarizer, 1)


def test_a_killed_job_resumes_from_its_finished_chunks(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    storage = LocalStorage(tmp_path / "store")
    key = _input(storage, 60)
    script = f"""
import sys
sys.path.insert(0, {str(root)!r})
from gazer.batch.job import BatchRunner, BatchSpec
from gazer.batch.progress_store import ChunkLedger
from gazer.storage.local import LocalStorage
from tests.batch.crashable_model import slow_upper
store = LocalStorage({str(tmp_path / 'store')!r})
ledger = ChunkLedger("sqlite:///{tmp_path / 'runs.db'}")
spec = BatchSpec("upper@1", {key!r}, "output/upper", chunk_rows=4)
r = BatchRunner(store, store, ledger, workers=1).run(spec, slow_upper, 1)
print("RESULT", r.rows, r.skipped_chunks)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True)
    parts = tmp_path / "store" / "output" / "upper" / "_parts"
    deadline = time.time() + 120
    while len(list(parts.glob("part-*.parquet"))) < 4:
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the machine dies: the job and its pool workers
    proc.wait(30)
    assert not (tmp_path / "store" / "output" / "upper" / "_SUCCESS").exists()
    finished_before = len(list(parts.glob("part-*.parquet")))
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert again.returncode == 0, again.stderr[-2000:]
    rows, skipped = map(int, again.stdout.split("RESULT")[1].split())
    assert rows == 60 and skipped >= finished_before - 1 >= 3
    out = pd.read_parquet(parts.parent / "predictions.parquet")
    assert list(out["row_id"]) == list(range(60))
    assert out["prediction"].str.startswith("ROW ").all()



@pytest.mark.integration
def test_the_ray_backends_give_the_same_output_as_local_processes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    key = _input(storage, 12, bad={5: ""})
    ledger = ChunkLedger(f"sqlite:///{tmp_path / 'runs.db'}")
    outputs, refused = {}, {}
    for executor in ("local", "ray", "ray-data"):
        spec = BatchSpec("summarizer@1", key, f"output/{executor}", chunk_rows=4, keep=("id",))
        result = BatchRunner(storage, storage, ledger, workers=2, executor=executor).run(
            spec, tfidf_summarizer, 1)
        assert (result.predicted, result.errors, result.chunks) == (11, 1, 3)
        outputs[executor] = pd.read_parquet(
            storage.local_path(f"output/{executor}/predictions.parquet"))
        refused[executor] = pd.read_parquet(
            storage.local_path(f"output/{executor}/errors.parquet"))
    for executor in ("ray", "ray-data"):
        pd.testing.assert_frame_equal(outputs["local"], outputs[executor])
        pd.testing.assert_frame_equal(refused["local"], refused[executor])
    assert list(outputs["ray-data"].columns) == ["row_id", "id", "prediction"]
