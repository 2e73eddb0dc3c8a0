"""Register a model trained elsewhere (a GPU box, a notebook) with lineage saying where from.

Formats, by what ``PATH`` is:
- an MLflow model directory (it has an ``MLmodel`` file): any flavour gazer loads;
- a ``.skops`` file: scikit-learn's safe format; types outside skops' trusted set are
  refused unless named in ``trusted``;
- a ``.joblib``, ``.pkl`` or ``.pickle`` file: loading a pickle runs its code, so it needs
  ``trust_pickle`` (the CLI's ``--trust-pickle``): only for files you made.

The version carries ``gazer.source=external``, where it came from (``gazer.origin``, the
host by default), the path, the content's SHA-256, the format, who registered it and when.
"""

from __future__ import annotations

import getpass
import hashlib
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gazer.errors import InvalidInput
from gazer.registry.protocol import ModelVersion, Registry

PICKLES = (".joblib", ".pkl", ".pickle")


def content_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a directory's files (relative paths and contents, sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            digest.update(f.relative_to(path).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def load_external(path: Path, *, trust_pickle: bool = False,
                  trusted: Sequence[str] = ()) -> tuple[Any, str]:
    """The model at ``path`` and its format's name."""
    if not path.exists():
        raise InvalidInput(f"no model at {path}: give an MLflow model directory, a .skops "
                           f"file or (with --trust-pickle) a .joblib/.pkl file")
    if path.is_dir():
        if not (path / "MLmodel").is_file():
            raise InvalidInput(f"{path} is a directory without an MLmodel file: save the model "
                               f"with mlflow.<flavour>.save_model(model, '{path.name}') first")
        from gazer.registry.mlflow import load_model_dir

        return load_model_dir(path), "mlflow"
    suffix = path.suffix.lower()
    if suffix == ".skops":
        import skops.io

        untrusted = [t for t in skops.io.get_untrusted_types(file=path) if t not in trusted]
        if untrusted:
            raise InvalidInput(f"{path.name} holds types skops does not trust: "
                               f"{', '.join(untrusted)}; pass --trust TYPE for each one you "
                               f"know to be safe")
        return skops.io.load(path, trusted=list(trusted) or None), "skops"
    if suffix in PICKLES:
        if not trust_pickle:
            raise InvalidInput(f"{path.name} is a pickle: loading it runs whatever code it "
                               f"holds. Pass --trust-pickle if you made it, or save it with "
                               f"skops or MLflow instead")
        import joblib

        return joblib.load(path), "pickle"  # nosec B301 # the user's own file, --trust-pickle
    raise InvalidInput(f"cannot register {path.name}: expected an MLflow model directory, a "
                       f".skops file or a .joblib/.pkl/.pickle file; got {suffix or 'no suffix'}")


def register_external(registry: Registry, name: str, path: Path, *,
                      metrics: Mapping[str, float] | None = None,
                      tags: Mapping[str, str] | None = None, origin: str | None = None,
                      trust_pickle: bool = False, trusted: Sequence[str] = ()) -> ModelVersion:
    """Load ``path`` (checking it loads and predicts nothing yet), register it as a new
    version of ``name`` with its lineage; no alias moves."""
    path = path.expanduser().resolve()
    model, kind = load_external(path, trust_pickle=trust_pickle, trusted=trusted)
    if not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"the model in {path.name} ({type(model).__name__}) has no "
                           f"predict(): gazer serves models through predict")
    lineage = {"gazer.source": "external", "gazer.origin": origin or socket.gethostname(),
               "gazer.source_path": str(path), "gazer.source_sha256": content_sha256(path),
               "gazer.source_format": kind, "gazer.registered_by": getpass.getuser(),
               "gazer.registered_at": f"{time.time():.0f}", **(tags or {})}
    return registry.register(name, model, metrics=dict(metrics or {}), tags=lineage)
