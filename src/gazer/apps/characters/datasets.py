"""Image datasets for the ``characters`` app, one loader per source.

Every loader returns an ``ImageDataset``: uint8 images (N×H×W, light strokes on a dark
background as in MNIST), integer labels, class names, and the official test split when the
source has one.

- ``digits``: scikit-learn's bundled 8×8 handwritten digits (always available).
- ``fashion-mnist``: the IDX files of Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist``) or any folder holding the same four files.
- ``kmnist``: Kuzushiji-MNIST's official ``kmnist-{train,test}-{imgs,labels}.npz`` files in a
  folder the user names.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gazer.errors import DatasetNotFound, InvalidInput

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Images and labels, with the official test split when the source has one."""

    name: str
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64
    class_names: tuple[str, ...]
    test_images: np.ndarray | None = None  # (M, H, W) uint8
    test_labels: np.ndarray | None = None  # (M,) int64
    source: str = ""

    @property
    def version(self) -> str:
        """Content hash of every array: the dataset's version."""
        h = hashlib.sha256()
        for array in (self.images, self.labels, self.test_images, self.test_labels):
            if array is not None:
                h.update(f"{array.dtype}{array.shape}".encode())
                h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])


Loader = Callable[..., ImageDataset]
_LOADERS: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Register a loader; a second one with the same name is an error."""

    def wrap(loader: Loader) -> Loader:
        if name in _LOADERS:
            raise InvalidInput(f"a dataset loader named {name!r} is already registered")
        _LOADERS[name] = loader
        return loader

    return wrap


def dataset_names() -> list[str]:
    return sorted(_LOADERS)


def load_dataset(name: str, **options: Any) -> ImageDataset:
    """Load dataset ``name``; ``options`` go to its loader (e.g. ``folder=``)."""
    if name not in _LOADERS:
        raise DatasetNotFound(f"no dataset named {name!r}; known: {', '.join(dataset_names())}")
    return _LOADERS[name](**options)


@register_dataset("digits")
def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 digits, 8×8, pixel values 0–16 scaled to 0–255."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    images = np.rint(data.images * (255 / 16)).astype(np.uint8)
    return ImageDataset("digits", images, data.target.astype(np.int64),
                        tuple(str(d) for d in range(10)), source="sklearn.datasets.load_digits")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): unsigned-byte data of any rank."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError as exc:
        raise DatasetNotFound(f"no IDX file at {path}") from exc
    except OSError as exc:
        raise InvalidInput(f"{path} is not a readable IDX file: {exc}") from exc
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise InvalidInput(f"{path}: expected an IDX file of unsigned bytes (magic 0x0000080N); "
                           f"got {data[:4].hex() or 'an empty file'}")
    rank = data[3]
    dims = struct.unpack(f">{rank}I", data[4 : 4 + 4 * rank])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(dims)):
        raise InvalidInput(f"{path}: header says {dims} = {int(np.prod(dims))} values; "
                           f"the file holds {body.size}")
    return body.reshape(dims)


@register_dataset("fashion-mnist")
def load_fashion_mnist(folder: str | Path = FASHION_MNIST_DIR) -> ImageDataset:
    """Fashion-MNIST's official 60k/10k split from its four IDX files."""
    root = Path(folder)
    if not (root / "train-images-idx3-ubyte.gz").exists():
        raise DatasetNotFound(
            f"Fashion-MNIST files not found in {root}: apt-get install dataset-fashion-mnist, "
            f"or pass folder= a folder holding train-images-idx3-ubyte.gz and the other three"
        )
    return ImageDataset(
        "fashion-mnist",
        read_idx(root / "train-images-idx3-ubyte.gz"),
        read_idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64),
        FASHION_CLASSES,
        read_idx(root / "t10k-images-idx3-ubyte.gz"),
        read_idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64),
        source=str(root),
    )


def _read_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            return np.asarray(data["arr_0"])
    except FileNotFoundError as exc:
        raise DatasetNotFound(
            f"no {path.name} in {path.parent}; Kuzushiji-MNIST needs "
            f"kmnist-{{train,test}}-{{imgs,labels}}.npz from the official site"
        ) from exc
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"{path} is not a Kuzushiji-MNIST .npz (array 'arr_0'): {exc}") \
            from exc


@register_dataset("kmnist")
def load_kmnist(folder: str | Path | None = None) -> ImageDataset:
    """Kuzushiji-MNIST from its official ``.npz`` files, with its 60k/10k split."""
    if folder is None:
        raise DatasetNotFound("kmnist needs folder=PATH holding the official "
                              "kmnist-{train,test}-{imgs,labels}.npz files")
    root = Path(folder)
    return ImageDataset(
        "kmnist",
        _read_npz(root / "kmnist-train-imgs.npz").astype(np.uint8),
        _read_npz(root / "kmnist-train-labels.npz").astype(np.int64),
        KMNIST_CLASSES,
        _read_npz(root / "kmnist-test-imgs.npz").astype(np.uint8),
        _read_npz(root / "kmnist-test-labels.npz").astype(np.int64),
        source=str(root),
    )
