"""Dataset loaders (including files in the official formats the tests write) and checks."""

from __future__ import annotations

import dataclasses
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from gazer.apps.characters.datasets import (
    FASHION_MNIST_DIR,
    KMNIST_CLASSES,
    DatasetNotFound,
    load_dataset,
    read_idx,
)
from gazer.apps.characters.validation import validate_dataset
from gazer.errors import InvalidInput


def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def write_kmnist(folder: Path, n_train: int = 50, n_test: int = 20) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        np.savez_compressed(folder / f"kmnist-{split}-imgs.npz",
                            rng.integers(1, 256, size=(n, 28, 28), dtype=np.uint8))
        np.savez_compressed(folder / f"kmnist-{split}-labels.npz", np.arange(n) % 10)


def test_digits_are_uint8_images_with_ten_classes() -> None:
    ds = load_dataset("digits")
    assert ds.images.shape == (1797, 8, 8) and ds.images.dtype == np.uint8
    assert ds.images.max() == 255 and ds.test_images is None
    assert len(ds.version) == 64
    assert validate_dataset(ds).counts["0"] == 178


def test_idx_files_round_trip(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x-idx3-ubyte.gz", images)
    assert np.array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), images)


def test_a_truncated_idx_file_is_refused_with_the_counts(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 3, 4) + b"\x00" * 5)
    with pytest.raises(InvalidInput, match="24 values; the file holds 5"):
        read_idx(path)
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"hello world")
    with pytest.raises(InvalidInput, match="expected an IDX file"):
        read_idx(plain)


def test_fashion_mnist_reads_any_folder_in_the_idx_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(1, 256, size=(n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    ds = load_dataset("fashion-mnist", folder=tmp_path)
    assert ds.images.shape == (30, 28, 28) and ds.test_images.shape == (10, 28, 28)  # type: ignore[union-attr]
    assert ds.class_names[9] == "Ankle boot"
    validate_dataset(ds)


@pytest.mark.skipif(not FASHION_MNIST_DIR.exists(), reason="dataset-fashion-mnist not installed")
def test_the_debian_fashion_mnist_package_has_the_official_split() -> None:
    ds = load_dataset("fashion-mnist")
    assert ds.images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)  # type: ignore[union-attr]
    assert validate_dataset(ds).imbalance == 1.0


def test_kmnist_loads_the_official_npz_format(tmp_path: Path) -> None:
    write_kmnist(tmp_path)
    ds = load_dataset("kmnist", folder=tmp_path)
    assert ds.class_names == KMNIST_CLASSES and ds.class_names[1] == "ki"
    assert ds.images.shape == (50, 28, 28) and ds.test_labels.shape == (20,)  # type: ignore[union-attr]
    validate_dataset(ds)


def test_missing_files_and_names_say_where_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound, match=r"kmnist-\{train,test\}"):
        load_dataset("kmnist", folder=tmp_path)
    with pytest.raises(DatasetNotFound, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", folder=tmp_path)
    with pytest.raises(DatasetNotFound, match="known: digits, fashion-mnist, kmnist"):
        load_dataset("mnist")


def test_validation_names_every_failed_check() -> None:
    ds = load_dataset("digits")
    labels = ds.labels.copy()
    labels[labels == 3] = 4  # class 3 now has no examples
    images = ds.images.copy()
    images[0] = 0  # a blank image
    broken = dataclasses.replace(ds, images=images, labels=labels)
    with pytest.raises(InvalidInput) as err:
        validate_dataset(broken)
    message = str(err.value)
    assert "image is blank" in message and "every one of the 10 classes" in message
    with pytest.raises(InvalidInput, match="dtype"):
        validate_dataset(dataclasses.replace(ds, images=ds.images.astype(np.float32)))
    with pytest.raises(InvalidInput, match="label"):
        validate_dataset(dataclasses.replace(ds, labels=ds.labels + 5))
