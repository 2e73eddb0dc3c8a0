"""The embedding service: ONNX vectors match torch's, texts are embedded once, batches are cut
by token length, and a backend that cannot start falls back to torch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gazer.apps.enrichment.fixture import load_fixture
from gazer.ml import embeddings
from gazer.settings import Settings

pytestmark = pytest.mark.skipif(embeddings.minilm_path() is None, reason="needs gazer[nlp]")


@pytest.fixture
def texts() -> list[str]:
    fixture = load_fixture()["text"].tolist()
    long = " ".join(fixture[:40])  # past MiniLM's 256 tokens: truncated alike by both
    return [*fixture[:150], long, "", "ok"]


@pytest.fixture
def memo_size() -> Iterator[None]:
    saved = embeddings.CONFIG.memo_size
    embeddings.MEMO.clear()
    yield
    embeddings.CONFIG.memo_size = saved
    embeddings.MEMO.clear()


def test_onnx_gives_torchs_vectors_and_int8_stays_close(texts: list[str]) -> None:
    reference = embeddings.embedder("torch").encode(texts)
    onnx = embeddings.embedder("onnx").encode(texts)
    int8 = embeddings.embedder("onnx-int8").encode(texts)
    assert onnx.shape == reference.shape == (len(texts), embeddings.DIM)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert float((onnx * reference).sum(1).min()) >= 0.999
    cosine = (int8 * reference).sum(1)
    assert float(cosine.mean()) >= 0.98 and float(cosine.min()) >= 0.9


def test_batches_are_sorted_by_length_and_kept_under_the_token_budget() -> None:
    model = embeddings.embedder("onnx")
    assert isinstance(model, embeddings.OnnxEmbedder)
    rng = np.random.default_rng(0)
    lengths = [*rng.integers(3, 60, 500).tolist(), 3000, 2]
    batches = model.batches(lengths)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))  # each text exactly once
    budget, most = embeddings.CONFIG.batch_tokens, embeddings.CONFIG.max_batch
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert len(batch) <= most and (len(batch) * widest <= budget or len(batch) == 1)
    assert [len(b) for b in batches if 3000 in [lengths[i] for i in b]] == [1]
    widths = [max(lengths[i] for i in b) for b in batches]
    assert widths == sorted(widths)


def test_each_distinct_text_is_embedded_once_and_remembered(
        texts: list[str], memo_size: None, monkeypatch: pytest.MonkeyPatch) -> None:
    model = embeddings.embedder("onnx")
    calls: list[list[str]] = []
    real = model.encode
    monkeypatch.setattr(model, "encode", lambda batch: calls.append(batch) or real(batch))
    repeated = ["a cat", "a dog", "a cat", "a cat"]
    out = embeddings.encode(repeated, "onnx")
    assert calls == [["a cat", "a dog"]]
    assert np.array_equal(out[0], out[2]) and not np.array_equal(out[0], out[1])
    again = embeddings.encode(["a dog", "a bird", "a dog"], "onnx")
    assert calls[1:] == [["a bird"]] and np.array_equal(again[0], out[1])
    embeddings.CONFIG.memo_size = 2  # least recently used goes first
    embeddings.encode(["one", "two", "three"], "onnx")
    assert len(embeddings.MEMO) == 2
    embeddings.encode(["three"], "onnx")
    assert calls[-1] == ["one", "two", "three"]  # "three" was remembered
    assert embeddings.encode([], "onnx").shape == (0, embeddings.DIM)


def test_a_backend_that_cannot_start_falls_back_to_torch(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(quantised: bool = False) -> None:
        raise RuntimeError("export failed")

    caplog.set_level(logging.WARNING, logger=embeddings.__name__)
    embeddings._embedder.cache_clear()
    monkeypatch.setattr(embeddings, "OnnxEmbedder", broken)
    try:
        assert embeddings.embedder("onnx-int8").name == "torch"
        assert "failed to start (RuntimeError: export failed); using torch" in caplog.text
    finally:
        embeddings._embedder.cache_clear()


def test_the_export_is_cached_and_written_whole(tmp_path: Path) -> None:
    saved = embeddings.CONFIG.cache_dir
    embeddings.CONFIG.cache_dir = tmp_path
    try:
        first = embeddings.exported_model()
        stamp = first.stat().st_mtime_ns
        assert embeddings.exported_model() == first and first.stat().st_mtime_ns == stamp
        assert [p.name for p in first.parent.iterdir()] == ["model.onnx"]  # no temp files
    finally:
        embeddings.CONFIG.cache_dir = saved


def test_the_backend_is_a_checked_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="must be one of onnx, onnx-int8, torch; got 'tf'"):
        embeddings.configure("tf")
    with pytest.raises(ValueError, match="must be one of"):
        embeddings.encode(["x"], "tf")
    monkeypatch.setenv("GAZER_EMBEDDINGS__BACKEND", "onnx-int8")
    assert Settings().embeddings.backend == "onnx-int8"
    monkeypatch.setenv("GAZER_EMBEDDINGS__BACKEND", "fast")
    with pytest.raises(ValueError, match="onnx"):
        Settings()
