"""Evaluation of an image classifier: metrics, confusion matrix, one-vs-rest ROC, latency."""

from __future__ import annotations

import pickle  # nosec B403 # only pickle.dumps, to measure a model's size; nothing is loaded
import time
from typing import Any

import numpy as np

from gazer.apps.characters.model import ImageClassifier


def score(model: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall, ROC AUC per class, latency, size."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    probs = model.predict_proba(images)
    pred = probs.argmax(axis=1)
    classes = list(range(len(model.class_names)))
    precision, recall, _, _ = precision_recall_fscore_support(labels, pred, labels=classes,
                                                              zero_division=0)
    onehot = np.eye(len(classes))[labels]
    aucs = [float(roc_auc_score(onehot[:, c], probs[:, c])) if 0 < onehot[:, c].sum() < len(labels)
            else float("nan") for c in classes]
    return {
        "accuracy": float(accuracy_score(labels, pred)),
        "macro_f1": float(f1_score(labels, pred, average="macro", zero_division=0)),
        "precision": [float(p) for p in precision],
        "recall": [float(r) for r in recall],
        "roc_auc": aucs,
        "latency_ms": latency_ms(model, images),
        "size_bytes": len(pickle.dumps(model)),
        "probs": probs,
        "pred": pred,
    }


def latency_ms(model: ImageClassifier, images: np.ndarray, n: int = 100) -> float:
    """Median time to classify one image, in milliseconds."""
    times = []
    for image in images[:n]:
        started = time.perf_counter()
        model.predict_proba(image[None])
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def figures(model: ImageClassifier, labels: np.ndarray, result: dict[str, Any], title: str
            ) -> tuple[Any, Any]:
    """The confusion matrix and all one-vs-rest ROC curves (one figure, AUCs in the legend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, roc_curve

    names = list(model.class_names)
    cm_fig, ax = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay.from_predictions(labels, result["pred"], labels=range(len(names)),
                                            display_labels=names, ax=ax, colorbar=False,
                                            xticks_rotation=45)
    ax.set_title(f"{title}: accuracy {result['accuracy']:.3f}")
    roc_fig, ax = plt.subplots(figsize=(7, 6))
    for c, name in enumerate(names):
        positives = labels == c
        if 0 < positives.sum() < len(labels):
            fpr, tpr, _ = roc_curve(positives, result["probs"][:, c])
            ax.plot(fpr, tpr, lw=1.2, label=f"{name} (AUC {result['roc_auc'][c]:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{title}: one-vs-rest ROC")
    ax.legend(fontsize=7, loc="lower right")
    return cm_fig, roc_fig


def shift_images(images: np.ndarray, axis: int, step: int) -> np.ndarray:
    """Shift by one pixel at MNIST's 28-pixel scale (a fraction of a pixel on 8×8 digits)."""
    k = max(1, round(28 / images.shape[1]))
    if k == 1:
        return np.roll(images, step, axis=axis)
    big = images.repeat(k, axis=1).repeat(k, axis=2).astype(np.float32)
    big = np.roll(big, step, axis=axis)
    n, h, w = images.shape
    small = big.reshape(n, h, k, w, k).mean(axis=(2, 4))
    return np.rint(small).astype(images.dtype)


def shift_stability(model: ImageClassifier, images: np.ndarray, n: int = 300) -> float:
    """Share of (image, direction) pairs whose prediction survives a 1-pixel shift."""
    sample = images[:n]
    base = model.predict(sample)
    kept = [model.predict(shift_images(sample, axis, step)) == base
            for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1))]
    return float(np.mean(kept))
