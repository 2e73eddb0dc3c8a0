"""What a model's inputs and outputs look like: per-input drift features, and the reference
profile a version keeps of its validation data.

One input (what the model itself is given, after the app's own preparation) becomes a few
scalar features and, for images, a small pixel vector:

- an image (``(1, h, w)``): mean and spread of intensity, the share of ink
  (pixels above half the image's brightest), the ink's bounding box as shares of the height
  and width, and the image area-resampled to 8x8 (the domain classifier's input);
- text (a string, or the first of several): characters, words, and the share of words the
  model does not know when it names its vocabulary;
- a numeric row (``(n_features,)`` or the first row of ``(n, n_features)``): each feature by
  name (the first 50).

A profile holds, for the validation inputs, a sample and the quantiles of each scalar, a sample
of pixel vectors or texts, the most frequent tokens, and the distributions of the predicted
class and of the confidence. It is JSON (``to_json``/``from_json``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from typing import Any

import numpy as np

SAMPLE = 1000  # scalar values kept per feature
VECTORS = 500  # pixel vectors or texts kept
GRID = 8
MAX_COLUMNS = 50
WORD = re.compile(r"\w+", re.UNICODE)


def kind_of(x: Any) -> str | None:
    """``image``, ``text``, ``numbers`` or None (nothing to profile)."""
    if isinstance(x, str):
        return "text"
    if isinstance(x, list | tuple) and x and isinstance(x[0], str):
        return "text"
    if not isinstance(x, np.ndarray) or not x.size:
        return None
    if x.dtype.kind in "OUS":
        return "text" if isinstance(x.reshape(-1)[0], str) else None
    if x.dtype.kind not in "biuf":
        return None
    if x.ndim == 3:  # (1, h, w): a 2-D array is rows of features, never an image
        return "image"
    return "numbers" if x.ndim in (1, 2) else None


def _first_image(x: np.ndarray) -> np.ndarray:
    image = x[0] if x.ndim == 3 else x
    return np.asarray(image, dtype=np.float32)


def pixel_vector(image: np.ndarray) -> np.ndarray:
    """``image`` averaged onto an 8x8 grid (each pixel in the cell its centre falls in), as
    64 float32 values."""
    h, w = image.shape
    rows = np.minimum(np.arange(h) * GRID // h, GRID - 1)
    cols = np.minimum(np.arange(w) * GRID // w, GRID - 1)
    sums = np.zeros((GRID, GRID), dtype=np.float64)
    np.add.at(sums, (rows[:, None], cols[None, :]), image)
    counts = np.outer(np.bincount(rows, minlength=GRID), np.bincount(cols, minlength=GRID))
    return (sums / np.maximum(counts, 1)).astype(np.float32).reshape(-1)


def image_features(image: np.ndarray) -> dict[str, float]:
    top = float(image.max()) if image.size else 0.0
    ink = image > top / 2 if top > 0 else np.zeros(image.shape, dtype=bool)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    h, w = image.shape
    return {"intensity_mean": float(image.mean()), "intensity_std": float(image.std()),
            "ink": float(ink.mean()),
            "bbox_height": float((rows[-1] - rows[0] + 1) / h) if rows.size else 0.0,
            "bbox_width": float((cols[-1] - cols[0] + 1) / w) if cols.size else 0.0}


def first_text(x: Any) -> str:
    """The text of one input: a string; one row of words (a word model's context) joined;
    else the first string of the first row (a summariser's ``[text, k, ratio]``)."""
    if isinstance(x, str):
        return x
    array = np.asarray(x, dtype=object)
    row = (array[0] if array.ndim == 2 else array).reshape(-1)
    strings = [v for v in row if isinstance(v, str)]
    if strings and len(strings) == len(row) and all(" " not in v.strip() for v in strings):
        return " ".join(strings)
    return strings[0] if strings else ""


def text_features(text: str, vocabulary: frozenset[str] | None = None) -> dict[str, float]:
    words = WORD.findall(text.lower())
    out = {"chars": float(len(text)), "words": float(len(words))}
    if vocabulary:
        out["oov"] = float(np.mean([w not in vocabulary for w in words])) if words else 0.0
    return out


def number_features(x: np.ndarray, names: list[str] | None = None) -> dict[str, float]:
    row = np.asarray(x, dtype=float).reshape(-1) if x.ndim == 1 else np.asarray(
        x[0], dtype=float).reshape(-1)
    names = names or [f"x{i}" for i in range(len(row))]
    return {str(n): float(v) for n, v in zip(names[:MAX_COLUMNS], row[:MAX_COLUMNS],
                                                 strict=False)}


@dataclasses.dataclass
class Features:
    """One input's drift features: scalars, and for images the 8x8 pixel vector."""

    kind: str
    scalars: dict[str, float]
    vector: np.ndarray | None = None
    text: str | None = None


def features(x: Any, vocabulary: frozenset[str] | None = None,
             names: list[str] | None = None) -> Features | None:
    """The drift features of one model input, or None for an input it cannot read."""
    kind = kind_of(x)
    if kind == "image":
        image = _first_image(np.asarray(x))
        return Features(kind, image_features(image), pixel_vector(image))
    if kind == "text":
        text = first_text(x)
        return Features(kind, text_features(text, vocabulary), text=text)
    if kind == "numbers":
        return Features(kind, number_features(np.asarray(x), names))
    return None


def vocabulary_of(model: Any) -> frozenset[str] | None:
    """The words a text model knows, when it says (``vocabulary``, or a word model's
    class names)."""
    words = getattr(model, "vocabulary", None)
    if words is None:
        words = getattr(getattr(model, "vocab", None), "tokens", None)
    if words is None:
        return None
    try:
        return frozenset(str(w).lower() for w in words)
    except TypeError:
        return None


@dataclasses.dataclass
class Profile:
    """The reference a version's production inputs are compared with."""

    kind: str
    n: int
    scalars: dict[str, list[float]]  # a sample of each scalar feature
    vectors: list[list[float]] = dataclasses.field(default_factory=list)
    texts: list[str] = dataclasses.field(default_factory=list)
    top_tokens: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    predicted: dict[str, float] = dataclasses.field(default_factory=dict)  # class -> share
    confidence: list[float] = dataclasses.field(default_factory=list)  # a sample
    class_names: list[str] = dataclasses.field(default_factory=list)

    def quantiles(self, name: str) -> list[float]:
        values = self.scalars.get(name) or []
        return np.quantile(values, np.linspace(0, 1, 11)).tolist() if values else []

    def to_json(self) -> str:
        body = dataclasses.asdict(self)
        body["quantiles"] = {k: self.quantiles(k) for k in self.scalars}
        return json.dumps(body)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        body = json.loads(text)
        body.pop("quantiles", None)
        body["top_tokens"] = [tuple(t) for t in body.get("top_tokens", [])]
        return cls(**body)


def build_profile(inputs: Any, predicted: Any = None, confidence: Any = None,
                  class_names: tuple[str, ...] | list[str] | None = None,
                  vocabulary: frozenset[str] | None = None, names: list[str] | None = None,
                  seed: int = 0) -> Profile | None:
    """The profile of ``inputs`` (a batch: images ``(n, h, w)``, rows ``(n, f)`` or texts),
    with the model's answers on them (class indexes or labels) and its confidences."""
    rng = np.random.default_rng(seed)
    if hasattr(inputs, "to_numpy") and hasattr(inputs, "columns"):  # a DataFrame's rows,
        inputs = inputs.to_numpy()  # by position as a served array's features are named
    rows = list(inputs) if not isinstance(inputs, np.ndarray) else [inputs[i] for i in
                                                                    range(len(inputs))]
    if not rows:
        return None
    chosen = sorted(rng.choice(len(rows), min(len(rows), SAMPLE), replace=False).tolist())
    per_row = [features(_one(rows[i]), vocabulary, names) for i in chosen]
    found = [f for f in per_row if f is not None]
    if not found:
        return None
    scalars: dict[str, list[float]] = {}
    for f in found:
        for k, v in f.scalars.items():
            scalars.setdefault(k, []).append(v)
    profile = Profile(kind=found[0].kind, n=len(rows), scalars=scalars,
                      class_names=[str(c) for c in class_names or []])
    keep = found[:VECTORS]
    if profile.kind == "image":
        profile.vectors = [np.round(f.vector, 4).tolist() for f in keep if f.vector is not None]
    if profile.kind == "text":
        profile.texts = [f.text or "" for f in keep]
        tokens = Counter(w for f in found for w in WORD.findall((f.text or "").lower()))
        profile.top_tokens = tokens.most_common(50)
    if predicted is not None:
        labels = [label_of(p, class_names) for p in np.asarray(predicted, dtype=object)
                  .reshape(-1)]
        counts = Counter(labels)
        profile.predicted = {k: v / len(labels) for k, v in counts.most_common()}
    if confidence is not None:
        values = np.asarray(confidence, dtype=float).reshape(-1)
        pick = rng.choice(len(values), min(len(values), SAMPLE), replace=False)
        profile.confidence = np.round(values[pick], 5).tolist()
    return profile


def _one(row: Any) -> Any:
    """One input of a batch, shaped as a request would give it."""
    if isinstance(row, np.ndarray) and row.ndim == 2 and row.dtype.kind in "biuf":
        return row[None]  # one image of a batch of images
    if isinstance(row, np.ndarray) and row.ndim == 1 and row.dtype.kind in "biuf":
        return row[None]
    return row


def label_of(value: Any, class_names: tuple[str, ...] | list[str] | None = None) -> str:
    """An answer as its label: a class index by its name."""
    if class_names and isinstance(value, int | np.integer) and 0 <= int(value) < len(
            class_names):
        return str(class_names[int(value)])
    return str(value)


def profile_key(model: str, version: int) -> str:
    """Where a version's profile lives in gazer's storage."""
    return f"monitoring/profiles/{model}/v{version}.json"
