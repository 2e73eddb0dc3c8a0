"""Artifacts: step outputs serialised to storage and passed on by reference.

Each value is written in its native format — DataFrames as Parquet, arrays as NPZ,
scikit-learn estimators with joblib, torch modules with ``torch.save``, small values as
JSON, anything else with cloudpickle — so a step can hand the next one gigabytes without a
payload limit. ``ArtifactRef`` is all that travels between steps and executors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from gazer.errors import ArtifactNotFound, InvalidArtifact
from gazer.storage.protocol import Storage


class Metrics(dict[str, float]):
    """A step output of named numbers; the runner also logs it to the tracker."""


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact lives and how to read it back."""

    key: str
    uri: str
    kind: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactRef:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class _Format:
    kind: str
    ext: str
    accepts: Callable[[Any], bool]
    save: Callable[[Any, Path], None]
    load: Callable[[IO[bytes] | Path], Any]


def _is_torch_module(value: Any) -> bool:
    # by class name, so a torch import half-done on another thread is never touched
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module"
               for c in type(value).__mro__)


def _is_sklearn(value: Any) -> bool:
    from sklearn.base import BaseEstimator

    return isinstance(value, BaseEstimator)


def _json_ready(value: Any) -> bool:
    if not isinstance(value, dict | list | str | int | float | bool | type(None)):
        return False
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _save_json(value: Any, path: Path) -> None:
    path.write_text(json.dumps(value))


def _load_json(src: IO[bytes] | Path) -> Any:
    return json.loads(src.read_bytes() if isinstance(src, Path) else src.read())


def _save_dataframe(value: Any, path: Path) -> None:
    value.to_parquet(path)


def _load_dataframe(src: IO[bytes] | Path) -> Any:
    import pandas as pd

    return pd.read_parquet(src)


def _save_series(value: Any, path: Path) -> None:
    value.to_frame(name=value.name if value.name is not None else "__series__").to_parquet(path)


def _load_series(src: IO[bytes] | Path) -> Any:
    series = _load_dataframe(src).iloc[:, 0]
    return series.rename(None) if series.name == "__series__" else series


def _save_ndarray(value: Any, path: Path) -> None:
    import numpy as np

    with open(path, "wb") as fh:
        np.savez(fh, array=value)


def _load_ndarray(src: IO[bytes] | Path) -> Any:
    import numpy as np

    with np.load(src, allow_pickle=False) as data:
        return data["array"]


def _save_joblib(value: Any, path: Path) -> None:
    import joblib

    joblib.dump(value, path)


def _load_joblib(src: IO[bytes] | Path) -> Any:
    import joblib

    return joblib.load(src)


def _save_torch(value: Any, path: Path) -> None:
    import torch

    torch.save(value, path)


def _load_torch(src: IO[bytes] | Path) -> Any:
    import torch

    return torch.load(src, weights_only=False, map_location="cpu")  # nosec B614 # gazer's own artifact store: steps hand on whole modules


def _save_pickle(value: Any, path: Path) -> None:
    import cloudpickle

    path.write_bytes(cloudpickle.dumps(value))


def _load_pickle(src: IO[bytes] | Path) -> Any:
    import pickle  # nosec B403 # loads only what _save_pickle wrote to gazer's own store

    return pickle.loads(src.read_bytes() if isinstance(src, Path) else src.read())  # nosec B301 # gazer's own artifact store, written by _save_pickle


def _is_type(module: str, name: str) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        mod = sys.modules.get(module)
        return mod is not None and isinstance(value, getattr(mod, name))

    return accepts


FORMATS: tuple[_Format, ...] = (
    _Format(
        "metrics", "json", lambda v: isinstance(v, Metrics), _save_json,
        lambda s: Metrics(_load_json(s)),
    ),
    _Format("dataframe", "parquet", _is_type("pandas", "DataFrame"), _save_dataframe,
            _load_dataframe),
    _Format("series", "parquet", _is_type("pandas", "Series"), _save_series, _load_series),
    _Format("ndarray", "npz", _is_type("numpy", "ndarray"), _save_ndarray, _load_ndarray),
    _Format("torch", "pt", _is_torch_module, _save_torch, _load_torch),
    _Format("sklearn", "joblib", _is_sklearn, _save_joblib, _load_joblib),
    _Format("json", "json", _json_ready, _save_json, _load_json),
    _Format("pickle", "pkl", lambda v: True, _save_pickle, _load_pickle),
)
_BY_KIND = {f.kind: f for f in FORMATS}


def save_artifact(
    storage: Storage, prefix: str, name: str, value: Any, tmp_dir: Path | None = None
) -> ArtifactRef:
    """Serialise ``value`` to ``prefix/name.<ext>`` atomically and return its reference."""
    fmt = next(f for f in FORMATS if f.accepts(value))
    key = f"{prefix}/{name}.{fmt.ext}"
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix="artifact-", suffix=f".{fmt.ext}", dir=tmp_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            fmt.save(value, tmp)
        except Exception as exc:
            raise InvalidArtifact(
                f"cannot serialise output {name!r} ({type(value).__name__}) as {fmt.kind}: {exc}"
            ) from exc
        size, digest = _digest(tmp)
        move = getattr(storage, "move_file", None)
        if move is not None:
            move(tmp, key)
        else:
            storage.put_file(tmp, key)
    finally:
        tmp.unlink(missing_ok=True)
    return ArtifactRef(key=key, uri=storage.url(key), kind=fmt.kind, size=size, sha256=digest)


def load_artifact(storage: Storage, ref: ArtifactRef) -> Any:
    """Read an artifact back into the value that was saved."""
    fmt = _BY_KIND.get(ref.kind)
    if fmt is None:
        raise InvalidArtifact(f"artifact {ref.uri} has unknown kind {ref.kind!r}")
    path = storage.local_path(ref.key)
    if path is not None:
        if not path.is_file():
            raise ArtifactNotFound(f"artifact {ref.uri} is missing from storage")
        return fmt.load(path)
    with storage.open(ref.key) as fh:
        return fmt.load(fh)


def _digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 2**20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()
