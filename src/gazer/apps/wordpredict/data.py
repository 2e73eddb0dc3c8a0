"""Preprocessing as the reference notebook did it, so accuracies compare.

- ``clean_line``: repair the Wikipedia dumps' split ``l · l`` into ``l·l``, drop punctuation
  tokens, strip punctuation inside tokens (keeping ``·``, and apostrophes and hyphens between
  letters: ``l'``, ``fes-ho``); no lower-casing.
- ``Vocabulary.build``: tokens seen at least 3 times in the training split (at most 100k, most
  frequent first) after ``<pad>`` = 0 and ``<unk>`` = 1.
- ``windows``: one sample per token, its 3 words before and 3 after, padded with ``<pad>`` at
  line edges (a window never crosses a line), as int32 arrays.
- ``validate_windows``: a pandera schema over the arrays (integer dtype, ids within the
  vocabulary, window width 6).
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SIDE = 3
WIDTH = 2 * SIDE
MIN_COUNT = 3
MAX_VOCAB = 100_000

_PUNCT = (set(string.punctuation) | set("«»“”‘’„…–—¿¡•°")) - {"·"}
_STRIP = str.maketrans("", "", "".join(sorted(_PUNCT - {"'", "-"})))
_INTERPUNCT = re.compile(r"l ?· ?l")
_ELISION = re.compile(r"(?i)(?:[dlmnst]|qu)'")


def clean_token(token: str) -> str:
    """A token without punctuation, or ``""`` when nothing of it is a word."""
    word = token.translate(_STRIP).strip("-").lstrip("'")
    if word.endswith("'") and not _ELISION.fullmatch(word):
        word = word.rstrip("'")
    return word if any(ch.isalnum() for ch in word) or word == "·" else ""


def clean_line(line: str) -> list[str]:
    """The words of one WikiText line, punctuation stripped, ``l·l`` repaired."""
    words = (clean_token(t) for t in _INTERPUNCT.sub("l·l", line).split())
    return [w for w in words if w and w != "·"]


@dataclasses.dataclass
class Vocabulary:
    """Token ↔ id, with ``<pad>`` = 0, ``<unk>`` = 1 and training counts per id."""

    tokens: list[str]
    counts: list[int]

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __getstate__(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.tokens, self.counts = state["tokens"], state["counts"]
        self.__post_init__()

    @classmethod
    def build(cls, lines: Iterable[list[str]], min_count: int = MIN_COUNT,
              max_size: int = MAX_VOCAB) -> Vocabulary:
        counter: Counter[str] = Counter()
        for words in lines:
            counter.update(words)
        kept = sorted(((c, t) for t, c in counter.items() if c >= min_count),
                      key=lambda ct: (-ct[0], ct[1]))[: max_size - 2]
        unknown = sum(counter.values()) - sum(c for c, _ in kept)
        return cls([PAD, UNK] + [t for _, t in kept], [0, unknown] + [c for c, _ in kept])

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self.index.get(w, UNK_ID) for w in words]

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "counts": self.counts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        return cls(list(data["tokens"]), list(data["counts"]))


def windows(lines: Iterable[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) contexts and (N,) targets: one sample per token, ``<pad>`` past line edges."""
    pieces: list[np.ndarray] = [np.zeros(SIDE, dtype=np.int32)]
    for ids in lines:
        if ids:
            pieces += [np.asarray(ids, dtype=np.int32), np.zeros(SIDE, dtype=np.int32)]
    seq = np.concatenate(pieces)
    positions = np.flatnonzero(_real_mask(pieces))
    offsets = np.array([-3, -2, -1, 1, 2, 3])
    x = seq[positions[:, None] + offsets[None, :]]
    return x.astype(np.int32), seq[positions].astype(np.int32)


def _real_mask(pieces: list[np.ndarray]) -> np.ndarray:
    """True where ``pieces`` concatenated hold a token, False on the padding between lines."""
    return np.concatenate([np.ones(len(p), bool) if i % 2 else np.zeros(len(p), bool)
                           for i, p in enumerate(pieces)])


def encode_split(lines: Iterable[str], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    return windows(vocab.encode(words) for words in map(clean_line, lines))


def validate_windows(x: np.ndarray, y: np.ndarray, vocab_size: int, split: str) -> None:
    """Schema checks; a failure names the split and the check (pandera's SchemaError)."""
    import pandas as pd
    import pandera.pandas as pa

    if x.ndim != 2 or x.shape[1] != WIDTH:
        raise pa.errors.SchemaError(
            None, x, f"{split}: windows must be N x {WIDTH} (3 words before, 3 after); "
                     f"got shape {list(x.shape)}")
    if len(x) != len(y):
        raise pa.errors.SchemaError(None, y, f"{split}: {len(x)} windows but {len(y)} targets")
    in_vocab = pa.Check.in_range(0, vocab_size - 1, error=f"id within the vocabulary of "
                                                         f"{vocab_size}")
    column = pa.Column(np.int32, in_vocab, nullable=False)
    schema = pa.DataFrameSchema({**{f"w{i}": column for i in range(WIDTH)}, "target": column},
                                strict=True, name=f"wordpredict-{split}")
    frame = pd.DataFrame(x, columns=[f"w{i}" for i in range(WIDTH)]).assign(target=y)
    schema.validate(frame, lazy=True)
    if len(y) and not (y != PAD_ID).all():
        raise pa.errors.SchemaError(schema, frame, f"{split}: a target is <pad>")


def word_windows(lines: Iterable[str], limit: int = 2000, seed: int = 0) -> np.ndarray:
    """Up to ``limit`` contexts of ``lines`` as a user sends them: (N, 6) words, the three
    before and the three after a word, within one line (the reference of a drift profile)."""
    rows = []
    for words in map(clean_line, lines):
        for i in range(SIDE, len(words) - SIDE):
            rows.append(words[i - SIDE:i] + words[i + 1:i + 1 + SIDE])
    if not rows:
        return np.zeros((0, 2 * SIDE), dtype=object)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(rows), min(limit, len(rows)), replace=False))
    return np.asarray([rows[i] for i in chosen], dtype=object)
