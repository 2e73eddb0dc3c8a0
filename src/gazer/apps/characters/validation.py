"""Checks on an image dataset with pandera: shape, dtype, pixel range, labels, balance.

Each image becomes one row of a summary frame (its shape, dtype, min and max pixel, label),
and a pandera schema checks the frame; a failure raises ``InvalidInput`` naming every failed
check with an example, so the run stops with a message a person can act on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pandera.pandas as pa

from gazer.apps.characters.datasets import ImageDataset
from gazer.errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class BalanceReport:
    """Examples per class and the ratio of the largest class to the smallest."""

    counts: dict[str, int]
    imbalance: float

    def as_markdown(self) -> str:
        rows = "\n".join(f"| {name} | {n} |" for name, n in self.counts.items())
        return f"| class | examples |\n|---|---|\n{rows}\n\nlargest/smallest: {self.imbalance:.2f}"


def image_schema(n_classes: int, height: int, width: int,
                 may_lack: frozenset[int] = frozenset()) -> pa.DataFrameSchema:
    """``may_lack``: classes a dataset was asked to leave out (the importer's ``exclude``)."""
    needed = set(range(n_classes)) - set(may_lack)
    return pa.DataFrameSchema(
        {
            "height": pa.Column(int, pa.Check.eq(height), description="image height"),
            "width": pa.Column(int, pa.Check.eq(width), description="image width"),
            "dtype": pa.Column(str, pa.Check.eq("uint8")),
            "min_pixel": pa.Column(int, pa.Check.in_range(0, 255)),
            "max_pixel": pa.Column(int, [pa.Check.in_range(0, 255),
                                         pa.Check.gt(0, error="image is blank (all pixels 0)")]),
            "label": pa.Column(int, pa.Check.in_range(0, n_classes - 1)),
        },
        checks=[pa.Check(lambda df: needed <= set(df["label"].unique()),
                         error=f"every one of the {len(needed)} classes needs examples")],
        strict=True,
    )


def summarize(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    if images.ndim != 3:
        raise InvalidInput(f"images must be an N×H×W array; got shape {list(images.shape)}")
    if len(images) != len(labels):
        raise InvalidInput(f"{len(images)} images but {len(labels)} labels")
    flat = images.reshape(len(images), -1)
    return pd.DataFrame({
        "height": np.full(len(images), images.shape[1]),
        "width": np.full(len(images), images.shape[2]),
        "dtype": str(images.dtype),
        "min_pixel": flat.min(axis=1).astype(np.int64),
        "max_pixel": flat.max(axis=1).astype(np.int64),
        "label": labels.astype(np.int64),
    })


def validate_dataset(dataset: ImageDataset, may_lack: tuple[str, ...] = ()) -> BalanceReport:
    """Check every split of ``dataset``; raise ``InvalidInput`` listing what failed.
    ``may_lack`` names classes left out on purpose."""
    height, width = dataset.image_shape
    lacking = frozenset(dataset.class_names.index(n) for n in may_lack
                        if n in dataset.class_names)
    schema = image_schema(len(dataset.class_names), height, width, lacking)
    splits = [("train", dataset.images, dataset.labels)]
    if dataset.test_images is not None and dataset.test_labels is not None:
        splits.append(("test", dataset.test_images, dataset.test_labels))
    for split, images, labels in splits:
        try:
            schema.validate(summarize(images, labels), lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            lines = [f"{r.column or 'frame'}: {r.check} (e.g. row {r.index}, got {r.failure_case})"
                     for r in cases.drop_duplicates(["column", "check"]).head(8).itertuples()]
            raise InvalidInput(f"dataset {dataset.name!r} {split} split failed validation: "
                               + "; ".join(lines)) from exc
    counts = np.bincount(dataset.labels, minlength=len(dataset.class_names))
    per_class = {name: int(n) for name, n in zip(dataset.class_names, counts, strict=True)}
    return BalanceReport(per_class, float(counts.max() / max(counts.min(), 1)))
