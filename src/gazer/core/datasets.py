"""Dataset versions a user can get back: every dataset a run reads (``ctx.log_dataset``) is
recorded with its content hash, and its content kept in storage under that hash.

- A DataFrame is kept as Parquet, an array as ``.npy``, bytes as they are, under
  ``datasets/NAME/DIGEST.EXT``; the same content is kept once, however many runs read it.
- Paths (a folder of files) are recorded, not copied: ``checkout`` names their source.
- Content over ``keep_max_mb`` (``GAZER_RUNS__KEEP_DATASETS_MAX_MB``, 512) is recorded only.

``versions(name)`` lists every version with the runs that read it; ``checkout(digest, dir)``
restores the content of a version (a unique prefix of its digest is enough).
"""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gazer.db import Database, DatasetVersionRow
from gazer.errors import InvalidInput, NotFound
from gazer.storage.protocol import Storage

PREFIX = "datasets"


def _encode(data: Any) -> tuple[bytes, str] | None:
    """The content to keep, and its file extension; None for what is not kept (paths)."""
    mod = type(data).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        frame = data.to_frame() if isinstance(data, pd.Series) else data
        buf = io.BytesIO()
        frame.to_parquet(buf)
        return buf.getvalue(), "parquet"
    if mod.startswith("numpy"):
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        return buf.getvalue(), "npy"
    if isinstance(data, bytes | bytearray):
        return bytes(data), "bin"
    return None


def _size(data: Any) -> int:
    nbytes = getattr(data, "nbytes", None)
    if nbytes is not None:
        return int(nbytes)
    memory = getattr(data, "memory_usage", None)
    if memory is not None:
        return int(memory(deep=True).sum())
    return len(data) if isinstance(data, bytes | bytearray) else 0


def keep(db: Database, storage: Storage | None, data: Any, *, name: str, digest: str,
         run_id: str, step: str, source: str, context: str, rows: int | None,
         keep_max_mb: float = 512) -> str | None:
    """Record that ``run_id`` read this version of ``name``; keep its content once.
    Returns the storage key, or None when the content is not kept."""
    key = None
    size = None
    if storage is not None and _size(data) <= keep_max_mb * 2**20:
        encoded = _encode(data)
        if encoded is not None:
            body, ext = encoded
            key = f"{PREFIX}/{_safe(name)}/{digest}.{ext}"
            if not storage.exists(key):
                storage.write_bytes(key, body)
            size = len(body)
    with db.session() as s:
        s.add(DatasetVersionRow(at=time.time(), name=name, digest=digest, run_id=run_id,
                                step=step, source=source[:4000], context=context, rows=rows,
                                key=key, size=size))
    return key


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "dataset"


@dataclasses.dataclass
class Version:
    name: str
    digest: str
    first_seen: float
    rows: int | None
    key: str | None
    size: int | None
    source: str
    runs: list[dict[str, str]]  # run_id, step, context

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def versions(db: Database, name: str) -> list[Version]:
    """Every version of ``name``, oldest first, with the runs that read it."""
    q = select(DatasetVersionRow).where(DatasetVersionRow.name == name) \
        .order_by(DatasetVersionRow.id)
    out: dict[str, Version] = {}
    with db.session() as s:
        for r in s.scalars(q):
            v = out.get(r.digest)
            if v is None:
                v = out[r.digest] = Version(r.name, r.digest, r.at, r.rows, r.key, r.size,
                                            r.source, [])
            v.key = v.key or r.key
            v.runs.append({"run_id": r.run_id, "step": r.step, "context": r.context})
    return list(out.values())


def read_by(db: Database, run_id: str) -> list[dict[str, Any]]:
    """The dataset versions run ``run_id`` read: name, digest, step, rows."""
    q = select(DatasetVersionRow).where(DatasetVersionRow.run_id == run_id) \
        .order_by(DatasetVersionRow.id)
    with db.session() as s:
        return [{"name": r.name, "digest": r.digest, "step": r.step, "rows": r.rows,
                 "context": r.context} for r in s.scalars(q)]


def names(db: Database) -> list[str]:
    with db.session() as s:
        return sorted(set(s.scalars(select(DatasetVersionRow.name))))


def find(db: Database, digest: str) -> Version:
    """The version whose digest starts with ``digest`` (at least 6 characters)."""
    if len(digest) < 6:
        raise InvalidInput(f"give at least 6 characters of a dataset digest; got {digest!r}")
    with db.session() as s:
        found = sorted({(r.name, r.digest) for r in s.scalars(
            select(DatasetVersionRow).where(DatasetVersionRow.digest.startswith(digest)))})
    if not found:
        raise NotFound(f"no dataset version has a digest starting {digest!r}; list them "
                       f"with gazer data versions NAME")
    if len({d for _, d in found}) > 1:
        raise InvalidInput(f"{digest!r} is the start of {len(found)} versions: "
                           + ", ".join(f"{n} {d[:16]}" for n, d in found[:5]))
    name, full = found[0]
    return next(v for v in versions(db, name) if v.digest == full)


def checkout(db: Database, storage: Storage, digest: str, folder: Path) -> Path:
    """Restore a version's content into ``folder``; returns the file written."""
    version = find(db, digest)
    if version.key is None or not storage.exists(version.key):
        raise NotFound(f"dataset {version.name} {version.digest[:16]} was recorded but its "
                       f"content was not kept (a path, or over the size limit): its source "
                       f"was {version.source}")
    folder.mkdir(parents=True, exist_ok=True)
    ext = version.key.rsplit(".", 1)[-1]
    target = folder / f"{_safe(version.name)}-{version.digest[:16]}.{ext}"
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(storage.read_bytes(version.key))
    tmp.replace(target)  # never a half-written file under the final name
    return target


def produced(registry: Any, run_ids: set[str]) -> dict[str, list[str]]:
    """The model versions each of ``run_ids`` registered (``NAME vN``), from their
    ``gazer.run_id`` tags: a dataset version's lineage forward."""
    out: dict[str, list[str]] = {}
    for model in registry.list_models():
        for v in registry.list_versions(model):
            run = v.tags.get("gazer.run_id")
            if run in run_ids:
                out.setdefault(run, []).append(f"{model} v{v.version}")
    return out


def carry(db: Database, cache_key: str, step: str, run_id: str) -> int:
    """A cache hit reads what the step's first run read: copy that run's dataset records of
    ``step`` to ``run_id``, so its lineage names them too. Returns how many."""
    from gazer.db import StepRow

    with db.session() as s:
        origin = s.scalar(select(StepRow.run_id).where(
            StepRow.cache_key == cache_key, StepRow.name == step, StepRow.cached.is_(False),
            StepRow.status == "succeeded").order_by(StepRow.finished_at.desc()).limit(1))
        if origin is None:
            return 0
        rows = list(s.scalars(select(DatasetVersionRow).where(
            DatasetVersionRow.run_id == origin, DatasetVersionRow.step == step)))
        for r in rows:
            s.add(DatasetVersionRow(at=time.time(), name=r.name, digest=r.digest,
                                    run_id=run_id, step=step, source=r.source,
                                    context=r.context, rows=r.rows, key=r.key, size=r.size))
        return len(rows)
