"""Artifacts round-trip through storage in their native formats."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from gazer.core.artifacts import Metrics, load_artifact, save_artifact
from gazer.errors import ArtifactNotFound
from gazer.storage import LocalStorage, MemoryStorage, Storage


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "s")
    return MemoryStorage(uuid.uuid4().hex)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[5, 6]), "dataframe"),
        (pd.Series([1.5, 2.5], name="s"), "series"),
        (np.arange(12, dtype=np.int32).reshape(3, 4), "ndarray"),
        ({"k": [1, 2], "v": None}, "json"),
        (Metrics(accuracy=0.9), "metrics"),
        ({1, 2, 3}, "pickle"),
    ],
)
def test_values_round_trip_in_their_format(storage: Storage, value: Any, kind: str) -> None:
    ref = save_artifact(storage, "curated/t", "out", value)
    assert ref.kind == kind
    back = load_artifact(storage, ref)
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(back, value)
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(back, value)
    elif isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value)
        assert back.dtype == np.int32
    else:
        assert back == value
        assert type(back) is type(value)


def test_sklearn_models_round_trip_with_joblib(storage: Storage) -> None:
    x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(x, y)
    ref = save_artifact(storage, "curated/t", "model", model)
    assert ref.kind == "sklearn" and ref.uri.endswith("model.joblib")
    assert list(load_artifact(storage, ref).predict(x)) == [0, 0, 1, 1]


def test_torch_modules_round_trip_with_torch_save(storage: Storage) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Linear(3, 2)
    ref = save_artifact(storage, "curated/t", "net", module)
    assert ref.kind == "torch" and ref.uri.endswith("net.pt")
    back = load_artifact(storage, ref)
    x = torch.ones(1, 3)
    assert torch.equal(back(x), module(x))


def test_refs_carry_size_and_content_hash(storage: Storage) -> None:
    a = save_artifact(storage, "curated/a", "x", {"v": 1})
    b = save_artifact(storage, "curated/b", "x", {"v": 1})
    assert a.sha256 == b.sha256 and a.size == b.size > 0
    assert a.key != b.key


def test_a_deleted_artifact_is_reported_missing(storage: Storage) -> None:
    ref = save_artifact(storage, "curated/a", "x", [1])
    storage.delete(ref.key)
    with pytest.raises(ArtifactNotFound):
        load_artifact(storage, ref)
