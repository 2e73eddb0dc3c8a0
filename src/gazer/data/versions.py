"""Dataset versions: a dataset's version is the content hash of its data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gazer.errors import InvalidInput


def hash_dataset(data: Any) -> str:
    """SHA-256 of a DataFrame, an array, bytes, a file or a folder of files."""
    h = hashlib.sha256()
    mod = type(data).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        frame = data.to_frame() if isinstance(data, pd.Series) else data
        h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    elif mod.startswith("numpy"):
        h.update(f"{data.dtype}{data.shape}".encode())
        h.update(data.tobytes())
    elif isinstance(data, bytes | bytearray):
        h.update(data)
    elif isinstance(data, str | Path) and Path(data).exists():
        _hash_files(h, Path(data))
    else:
        raise InvalidInput(
            f"a dataset to hash must be a DataFrame, an array, bytes or a path; "
            f"got {type(data).__name__}"
        )
    return h.hexdigest()


def _hash_files(h: Any, root: Path) -> None:
    files: Iterable[Path] = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file()
    )
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() if path != root else b"")
        with open(path, "rb") as fh:
            while chunk := fh.read(8 * 2**20):
                h.update(chunk)


def describe_schema(data: Any) -> tuple[dict[str, str], int | None]:
    """Column types and row count, for dataset records."""
    if type(data).__module__.startswith("pandas") and hasattr(data, "dtypes"):
        frame = data.to_frame() if data.ndim == 1 else data
        return {str(c): str(t) for c, t in frame.dtypes.items()}, len(frame)
    if type(data).__module__.startswith("numpy"):
        return {"array": f"{data.dtype}{list(data.shape)}"}, int(data.shape[0]) if data.ndim else 1
    return {}, None
