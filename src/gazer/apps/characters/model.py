"""Image classifiers for the ``characters`` app, all behind one interface.

``ImageClassifier.predict_proba(images)`` takes uint8 images (N×H×W, light strokes on dark)
and returns class probabilities; the preprocessing transform and class names travel inside
the object, so serving rebuilds everything from the registered artifact alone.

- ``SklearnImageClassifier`` wraps logistic regression or a decision tree on flattened pixels.
- ``CnnImageClassifier`` wraps ``SmallCNN`` (config beside it), trained with ``train_cnn``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gazer.apps.characters.preprocess import ImageTransform
from gazer.ml.torchnet import LazyNet, cpu_state


class ImageClassifier:
    """Predicts class indices and probabilities for uint8 image batches."""

    family = "base"

    def __init__(self, class_names: tuple[str, ...], transform: ImageTransform) -> None:
        self.class_names = tuple(class_names)
        self.transform = transform

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} must define predict_proba")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class index per image."""
        return np.asarray(self.predict_proba(images)).argmax(axis=1)

    # served: both outputs from one pass (the prediction log keeps the probabilities too, and
    # two calls would run the network twice per request)
    output_names = ("predict", "probabilities")

    def predict_outputs(self, images: np.ndarray, wanted: set[str]) -> dict[str, np.ndarray]:
        probs = np.asarray(self.predict_proba(images))
        out = {"predict": probs.argmax(axis=1)} if "predict" in wanted else {}
        if "probabilities" in wanted:
            out["probabilities"] = probs
        return out

    def top_k(self, image: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` likeliest class names of one image, with probabilities."""
        probs = self.predict_proba(image[None])[0]
        order = np.argsort(probs)[::-1][:k]
        return [(self.class_names[i], float(probs[i])) for i in order]

    @staticmethod
    def _check(images: np.ndarray, height: int, width: int) -> np.ndarray:
        array = np.asarray(images)
        if array.ndim == 2:
            array = array.reshape(1, *array.shape)
        if array.ndim == 4 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim != 3 or array.shape[1:] != (height, width):
            raise ValueError(f"expected images of shape (N, {height}, {width}); "
                             f"got {list(array.shape)}")
        return array


class SklearnImageClassifier(ImageClassifier):
    """A scikit-learn classifier on flattened pixels scaled to [0, 1]."""

    def __init__(self, estimator: Any, family: str, class_names: tuple[str, ...],
                 transform: ImageTransform) -> None:
        super().__init__(class_names, transform)
        self.estimator = estimator
        self.family = family

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        x = self._check(images, self.transform.height, self.transform.width)
        flat = x.reshape(len(x), -1).astype(np.float32) / 255.0
        probs = np.zeros((len(x), len(self.class_names)))
        probs[:, self.estimator.classes_] = self.estimator.predict_proba(flat)
        return probs


@dataclasses.dataclass(frozen=True)
class CnnConfig:
    """Shape of ``SmallCNN``: two conv blocks then a dense layer."""

    height: int = 28
    width: int = 28
    n_classes: int = 10
    channels: int = 16  # first block; the second has twice as many
    hidden: int = 128
    dropout: float = 0.3


def build_cnn(config: CnnConfig) -> Any:
    """conv-bn-relu ×2 + pool, twice, then dense; small images skip the second pool."""
    import torch.nn as nn

    c1, c2 = config.channels, config.channels * 2
    pools = 2 if min(config.height, config.width) >= 16 else 1
    h, w = config.height // 2**pools, config.width // 2**pools
    blocks: list[Any] = []
    for i, (cin, cout) in enumerate(((1, c1), (c1, c2))):
        blocks += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                   nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        if i < pools:
            blocks.append(nn.MaxPool2d(2))
    return nn.Sequential(
        *blocks,                                   # (N, 1, H, W) -> (N, c2, h, w)
        nn.Flatten(),                              # -> (N, c2*h*w)
        nn.Dropout(config.dropout),
        nn.Linear(c2 * h * w, config.hidden),      # -> (N, hidden)
        nn.ReLU(),
        nn.Dropout(config.dropout),
        nn.Linear(config.hidden, config.n_classes),  # -> (N, n_classes) logits
    )


class CnnImageClassifier(LazyNet, ImageClassifier):
    """A trained ``SmallCNN``; weights kept as a CPU state dict."""

    family = "cnn"

    def __init__(self, config: CnnConfig, state: dict[str, Any], class_names: tuple[str, ...],
                 transform: ImageTransform) -> None:
        super().__init__(class_names, transform)
        self.config = config
        self.state = state

    def build(self) -> Any:
        return build_cnn(self.config)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        import torch

        x = self._check(images, self.config.height, self.config.width)
        with torch.inference_mode():
            batch = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
            out = [torch.softmax(self.net()(part), dim=1) for part in batch.split(1024)]
        return torch.cat(out).numpy()


def train_cnn(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
    config: CnnConfig, *, epochs: int, batch_size: int, lr: float, seed: int, patience: int,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Adam with one-cycle LR, label smoothing, early stopping on validation loss.

    Returns the best epoch's state dict and per-epoch history.
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net = build_cnn(config).to(device)
    xt = torch.from_numpy(x_train.astype(np.float32) / 255.0).unsqueeze(1)
    yt = torch.from_numpy(y_train.astype(np.int64))
    xv = torch.from_numpy(x_val.astype(np.float32) / 255.0).unsqueeze(1).to(device)
    yv = torch.from_numpy(y_val.astype(np.int64)).to(device)
    steps = max(1, epochs * ((len(xt) + batch_size - 1) // batch_size))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, dict[str, Any]] = (float("inf"), cpu_state(net))
    history: list[dict[str, float]] = []
    waited = 0
    for epoch in range(epochs):
        started, total, seen = time.perf_counter(), 0.0, 0
        net.train()
        for idx in torch.randperm(len(xt), generator=gen).split(batch_size):
            xb, yb = xt[idx].to(device), yt[idx].to(device)
            loss = F.cross_entropy(net(xb), yb, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total, seen = total + loss.item() * len(idx), seen + len(idx)
        net.eval()
        with torch.inference_mode():
            logits = torch.cat([net(part) for part in xv.split(2048)])
            val_loss = F.cross_entropy(logits, yv).item()
            val_acc = (logits.argmax(1) == yv).float().mean().item()
        row = {"train_loss": total / max(seen, 1), "val_loss": val_loss, "val_accuracy": val_acc,
               "epoch_s": time.perf_counter() - started,
               "images_per_s": seen / (time.perf_counter() - started)}
        history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
        if val_loss < best[0]:
            best, waited = (val_loss, cpu_state(net)), 0
        else:
            waited += 1
            if waited >= patience:
                break
    return best[1], history

