"""Preprocessing: cleaning, vocabulary, windows at line edges, schema checks."""

from __future__ import annotations

import numpy as np
import pandera.pandas as pa
import pytest

from gazer.apps.wordpredict.data import (
    PAD_ID,
    UNK_ID,
    Vocabulary,
    clean_line,
    encode_split,
    validate_windows,
    windows,
)


def test_cleaning_strips_punctuation_repairs_l_l_and_keeps_case() -> None:
    line = " = Història = \n La col · lecció d' art , « Barcelona » ( 1888 ) : fes-ho ! "
    assert clean_line(line) == ["Història", "La", "col·lecció", "d'", "art", "Barcelona",
                                "1888", "fes-ho"]
    assert clean_line(" . , ; · ") == []


def test_vocabulary_keeps_words_seen_three_times_after_pad_and_unk() -> None:
    lines = [["a", "b", "a"], ["a", "b", "b"], ["c", "c", "d"], ["c"]]
    vocab = Vocabulary.build(lines, min_count=3)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]
    assert vocab.counts == [0, 1, 3, 3, 3]
    assert vocab.encode(["c", "zzz", "a"]) == [4, UNK_ID, 2]
    assert Vocabulary.build(lines, min_count=1, max_size=4).tokens == ["<pad>", "<unk>", "a",
                                                                       "b"]
    assert Vocabulary.from_dict(vocab.to_dict()).index == vocab.index


def test_windows_are_padded_at_line_edges_and_never_cross_lines() -> None:
    x, y = windows([[5, 6], [], [7, 8, 9, 10, 11, 12, 13]])
    assert x.dtype == np.int32 and y.dtype == np.int32
    assert y.tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert x[0].tolist() == [0, 0, 0, 6, 0, 0]  # first word of a 2-word line
    assert x[1].tolist() == [0, 0, 5, 0, 0, 0]
    assert x[2].tolist() == [0, 0, 0, 8, 9, 10]  # next line starts clean
    assert x[5].tolist() == [7, 8, 9, 11, 12, 13]  # a full window in the middle
    assert x[8].tolist() == [10, 11, 12, 0, 0, 0]


def test_encode_split_makes_one_sample_per_kept_token() -> None:
    vocab = Vocabulary.build([["Feu", "clic", "a"]] * 3)
    x, y = encode_split([" Feu clic a D' acord . ", " Feu clic . "], vocab)
    assert len(y) == 5 + 2
    assert (y[3:5] == UNK_ID).all()  # D' and acord are unknown


def test_schema_names_what_is_wrong() -> None:
    x = np.array([[0, 0, 0, 2, 3, 0]], dtype=np.int32)
    validate_windows(x, np.array([2], dtype=np.int32), 4, "train")
    with pytest.raises(pa.errors.SchemaErrors, match="id within the vocabulary of 4"):
        validate_windows(x, np.array([9], dtype=np.int32), 4, "train")
    with pytest.raises(pa.errors.SchemaError, match="must be N x 6 .* got shape \\[1, 5\\]"):
        validate_windows(x[:, :5], np.array([2], dtype=np.int32), 4, "valid")
    with pytest.raises(pa.errors.SchemaErrors, match="int32"):
        validate_windows(x.astype(np.float32), np.array([2], dtype=np.int32), 4, "test")
    with pytest.raises(pa.errors.SchemaError, match="a target is <pad>"):
        validate_windows(x, np.array([PAD_ID], dtype=np.int32), 4, "test")
