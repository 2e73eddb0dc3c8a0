"""The ``characters`` pipeline: continuous training for handwritten character recognition.

importer → validate → split → (train_logreg ‖ train_tree ‖ train_cnn) → evaluate each →
select (compare, gate against the champion, register with a model card).
``gazer run characters --param dataset=fashion-mnist`` (datasets: digits, fashion-mnist,
kmnist with ``--param folder=PATH``). Each dataset has its own registered model,
``characters-<dataset>``, so a champion is only ever compared with one of its own kind.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from gazer.apps.characters.datasets import ImageDataset, load_dataset
from gazer.apps.characters.evaluation import figures, score, shift_stability
from gazer.apps.characters.model import (
    CnnConfig,
    CnnImageClassifier,
    ImageClassifier,
    SklearnImageClassifier,
    train_cnn,
)
from gazer.apps.characters.preprocess import ImageTransform, as_served, prepare_image
from gazer.apps.characters.serving import mount
from gazer.apps.characters.validation import validate_dataset
from gazer.catalog import register_app
from gazer.core.artifacts import Metrics
from gazer.core.context import current, current_settings
from gazer.core.pipeline import Pipeline
from gazer.core.step import step
from gazer.errors import InvalidInput
from gazer.registry.gate import Check, Gate
from gazer.tracking.co2 import measure_emissions

ARRAYS = ("images", "labels", "test_images", "test_labels")


def model_name(dataset: str) -> str:
    return f"characters-{dataset}"


def feedback_examples(spec: str, class_names: tuple[str, ...], shape: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray, str]:
    """Users' corrected drawings as training examples: the uploads whose feedback names a
    class this dataset has, framed like the training images. Returns images, labels and the
    feedback dataset's version (its content hash)."""
    from gazer.db import Database
    from gazer.monitoring.datasets import feedback_dataset
    from gazer.storage.resolve import storage_from_settings

    settings = current_settings()
    db = Database(settings.runs_url)
    try:
        data = feedback_dataset(db, storage_from_settings(settings), spec)
    finally:
        db.close()
    transform = ImageTransform.for_shape(*shape)
    images, labels = [], []
    for label, payload in zip(data.frame["label"], data.frame["payload"], strict=True):
        if payload is None or label not in class_names:
            continue
        try:
            image = prepare_image(payload, transform)
        except InvalidInput as exc:  # an empty or unreadable upload is not an example
            print(f"skipped a feedback drawing: {exc}")
        else:
            images.append(image)
            labels.append(class_names.index(label))
    array = np.stack(images) if images else np.zeros((0, *shape), dtype=np.uint8)
    return array, np.asarray(labels, dtype=np.int64), data.version


@step(outputs=(*ARRAYS, "meta"))
def importer(dataset: str = "digits", folder: str = "", feedback: str = "",
             exclude: str = "") -> tuple[Any, ...]:
    """Load a dataset through its plug-in and record its version (content hash).

    ``feedback=characters@7d`` adds the drawings users corrected on that endpoint in the
    last 7 days (see ``gazer.monitoring.datasets``) to the training images. ``exclude``
    (class names, comma-separated) leaves those classes out of the dataset itself, as a
    dataset that lacks them would (feedback may still bring them in).
    """
    ds = load_dataset(dataset, **({"folder": folder} if folder else {}))  # nosec B615 # gazer's own dataset plug-ins, not the Hugging Face hub
    ctx = current()
    if exclude:
        ds = _without(ds, {c.strip() for c in exclude.split(",") if c.strip()})
    if feedback:
        extra, extra_labels, version = feedback_examples(feedback, tuple(ds.class_names),
                                                         ds.image_shape)
        ctx.log_dataset(extra, f"feedback-{feedback.partition('@')[0]}",
                        source=f"gazer feedback {feedback} (version {version})")
        print(f"feedback {feedback}: {len(extra)} labelled drawings added (version {version})")
        ds = dataclasses.replace(ds, images=np.concatenate([ds.images, extra]),
                                 labels=np.concatenate([ds.labels, extra_labels]))
    ctx.log_dataset(ds.images, f"{dataset}-train", source=ds.source or dataset)
    if ds.test_images is not None:
        ctx.log_dataset(ds.test_images, f"{dataset}-test", source=ds.source or dataset,
                        context="testing")
    print(f"{dataset}: {len(ds.images)} training images {ds.image_shape}, "
          f"{0 if ds.test_images is None else len(ds.test_images)} official test images")
    empty = np.zeros((0, *ds.image_shape), dtype=np.uint8)
    meta = {"dataset": dataset, "class_names": list(ds.class_names), "version": ds.version,
            "source": ds.source, "excluded": sorted(c.strip() for c in exclude.split(",")
                                                   if c.strip())}
    return (ds.images, ds.labels, ds.test_images if ds.test_images is not None else empty,
            ds.test_labels if ds.test_labels is not None else np.zeros(0, dtype=np.int64), meta)


def _without(ds: Any, names: set[str]) -> Any:
    unknown = names - set(ds.class_names)
    if unknown:
        raise InvalidInput(f"exclude names classes {sorted(unknown)} that {ds.name} does not "
                           f"have; it has {', '.join(ds.class_names)}")
    drop = [ds.class_names.index(n) for n in names]
    keep = ~np.isin(ds.labels, drop)
    test_keep = None if ds.test_labels is None else ~np.isin(ds.test_labels, drop)
    print(f"excluded classes {', '.join(sorted(names))}: {int((~keep).sum())} images")
    return dataclasses.replace(
        ds, images=ds.images[keep], labels=ds.labels[keep],
        test_images=None if test_keep is None else ds.test_images[test_keep],
        test_labels=None if test_keep is None else ds.test_labels[test_keep])


def _dataset(images: Any, labels: Any, test_images: Any, test_labels: Any,
             meta: dict[str, Any]) -> ImageDataset:
    has_test = len(test_images) > 0
    return ImageDataset(meta["dataset"], images, labels, tuple(meta["class_names"]),
                        test_images if has_test else None, test_labels if has_test else None,
                        meta["source"])


@step(outputs="balance")
def validate(images: Any, labels: Any, test_images: Any, test_labels: Any,
             meta: dict[str, Any]) -> dict[str, Any]:
    """Schema checks (shape, dtype, pixels, labels, no empty class); a failure stops the run."""
    report = validate_dataset(_dataset(images, labels, test_images, test_labels, meta),
                              tuple(meta.get("excluded", ())))
    current().log_text(report.as_markdown(), "class_balance.md")
    current().log_metric("class_imbalance", report.imbalance)
    return {"counts": report.counts, "imbalance": report.imbalance}


@step(outputs=("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"))
def split(images: Any, labels: Any, test_images: Any, test_labels: Any, balance: dict[str, Any],
          test_size: float = 0.2, val_size: float = 0.1, seed: int = 0) -> tuple[Any, ...]:
    """The official test split when there is one, else a seeded stratified one; plus validation."""
    from sklearn.model_selection import train_test_split

    if len(test_images) == 0:
        images, test_images, labels, test_labels = train_test_split(
            images, labels, test_size=test_size, random_state=seed, stratify=labels)
    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=val_size, random_state=seed, stratify=labels)
    current().log_metrics({"n_train": len(x_train), "n_val": len(x_val),
                           "n_test": len(test_images)})
    return x_train, y_train, x_val, y_val, test_images, test_labels


def _transform(x: np.ndarray) -> ImageTransform:
    return ImageTransform.for_shape(int(x.shape[1]), int(x.shape[2]))


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


def _measured(name: str, fit: Any) -> Any:
    settings = current_settings()
    with measure_emissions(settings.tracking.country, settings.tracking.co2) as co2:
        model = fit()
    current().log_metrics({f"co2_kg.{name}": co2.co2_kg, f"energy_kwh.{name}": co2.energy_kwh})
    return model


@step(outputs="logreg")
def train_logreg(x_train: Any, y_train: Any, meta: dict[str, Any], C: float = 0.1,
                 max_iter: int = 100) -> ImageClassifier:
    """Multinomial logistic regression on pixels (the seed project's first model)."""
    from sklearn.linear_model import LogisticRegression

    def fit() -> ImageClassifier:
        est = LogisticRegression(C=C, max_iter=max_iter).fit(_flat(x_train), y_train)
        return SklearnImageClassifier(est, "logreg", tuple(meta["class_names"]),
                                      _transform(x_train))

    return _measured("train_logreg", fit)


@step(outputs="tree")
def train_tree(x_train: Any, y_train: Any, meta: dict[str, Any], max_depth: int = 20,
               min_samples_leaf: int = 2, seed: int = 0) -> ImageClassifier:
    """A decision tree on pixels (the seed project's second model)."""
    from sklearn.tree import DecisionTreeClassifier

    def fit() -> ImageClassifier:
        est = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_samples_leaf,
                                     random_state=seed).fit(_flat(x_train), y_train)
        return SklearnImageClassifier(est, "tree", tuple(meta["class_names"]),
                                      _transform(x_train))

    return _measured("train_tree", fit)


@step(outputs="cnn")
def train_cnn_step(x_train: Any, y_train: Any, x_val: Any, y_val: Any, meta: dict[str, Any],
                   epochs: int = 12, batch_size: int = 128, lr: float = 3e-3, channels: int = 16,
                   hidden: int = 128, patience: int = 3, seed: int = 0) -> ImageClassifier:
    """A small CNN in PyTorch (cuda when present), early-stopped on validation loss."""
    ctx = current()
    config = CnnConfig(int(x_train.shape[1]), int(x_train.shape[2]), len(meta["class_names"]),
                       channels, hidden)
    ctx.log_params({"cnn.config": json.dumps(config.__dict__)})
    epochs_left = ctx.progress(range(epochs), desc="epochs", every_s=0.0)

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        next(epochs_left, None)
        ctx.log_metrics({f"cnn.{k}": v for k, v in row.items()}, step=epoch)

    def fit() -> ImageClassifier:
        state, history = train_cnn(x_train, y_train, x_val, y_val, config, epochs=epochs,
                                   batch_size=batch_size, lr=lr, seed=seed, patience=patience,
                                   on_epoch=on_epoch)
        if history:
            ctx.log_figure(_curves(history), "cnn_training_curves.png")
        return CnnImageClassifier(config, state, tuple(meta["class_names"]), _transform(x_train))

    return _measured("train_cnn", fit)


train_cnn_step = train_cnn_step.named("train_cnn")


def _curves(history: list[dict[str, float]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history) + 1)
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], label="validation")
    ax1.set_title("loss")
    ax1.set_xlabel("epoch")
    ax1.legend()
    ax2.plot(epochs, [h["val_accuracy"] for h in history])
    ax2.set_title("validation accuracy")
    ax2.set_xlabel("epoch")
    fig.tight_layout()
    return fig


@step(outputs="metrics")
def evaluate(model: ImageClassifier, x_test: Any, y_test: Any) -> Metrics:
    """Test metrics, per-class precision/recall, confusion matrix and ROC images."""
    import matplotlib.pyplot as plt

    ctx = current()
    result = score(model, x_test, y_test)
    cm_fig, roc_fig = figures(model, y_test, result, f"{model.family}")
    ctx.log_figure(cm_fig, f"{model.family}_confusion_matrix.png")
    ctx.log_figure(roc_fig, f"{model.family}_roc.png")
    plt.close(cm_fig)
    plt.close(roc_fig)
    per_class = {}
    for i, name in enumerate(model.class_names):
        per_class[f"{model.family}.precision.{name}"] = result["precision"][i]
        per_class[f"{model.family}.recall.{name}"] = result["recall"][i]
        per_class[f"{model.family}.roc_auc.{name}"] = result["roc_auc"][i]
    ctx.log_metrics({k.replace("/", "-"): v for k, v in per_class.items()})
    metrics = Metrics(accuracy=result["accuracy"], macro_f1=result["macro_f1"],
                      mean_roc_auc=float(np.nanmean(result["roc_auc"])),
                      latency_ms=result["latency_ms"], size_bytes=result["size_bytes"])
    ctx.log_metrics({f"{model.family}.{k}": v for k, v in metrics.items()})
    return metrics


def model_card(family: str, meta: dict[str, Any], metrics: Metrics, every: dict[str, Metrics],
               stability: float, decision: Any, balance: dict[str, Any]) -> str:
    rows = "\n".join(f"| {fam} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | "
                     f"{m['latency_ms']:.2f} | {m['size_bytes'] / 1024:.0f} |"
                     for fam, m in every.items())
    return f"""# Model card: {model_name(meta['dataset'])} ({family})

## Data
- Dataset: `{meta['dataset']}` ({meta['source'] or 'bundled'}), version `{meta['version'][:16]}`
- Classes: {', '.join(meta['class_names'])}
- Class balance (largest/smallest): {balance['imbalance']:.2f}

## Candidates (test split)
| model | accuracy | macro-F1 | latency ms/image | size KiB |
|---|---|---|---|---|
{rows}

## Chosen: {family}
- Accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f},
  mean one-vs-rest ROC AUC {metrics['mean_roc_auc']:.4f}
- Prediction unchanged by a 1-pixel shift for {stability:.1%} of test images
- Gate: {'passed' if decision.passed else 'failed'}: {'; '.join(decision.reasons)}
- Energy and CO2 of each training step: logged in the run as `energy_kwh.*` and `co2_kg.*`
  (CodeCarbon offline estimate from CPU TDP and load).

## Limits
- Trained on centred, size-normalised single characters; the upload route crops, scales and
  centres input the same way, but touching characters, rotations and heavy noise are out of scope.
- Accuracy is measured on the dataset's test split only; other handwriting styles may do worse.
"""


@step(outputs="decision")
def select(logreg: ImageClassifier, tree: ImageClassifier, cnn: ImageClassifier,
           logreg_metrics: Metrics, tree_metrics: Metrics, cnn_metrics: Metrics,
           x_test: Any, y_test: Any, x_val: Any, meta: dict[str, Any], balance: dict[str, Any],
           margin: float = 0.0, min_shift_stability: float = 0.8) -> dict[str, Any]:
    """Pick the most accurate model; it becomes champion only if the gate says so. Its
    reference profile is made from the held-out images (validation and test), framed as
    uploads are."""
    ctx = current()
    models = {"logreg": (logreg, logreg_metrics), "tree": (tree, tree_metrics),
              "cnn": (cnn, cnn_metrics)}
    best = max(models, key=lambda k: models[k][1]["accuracy"])
    model, metrics = models[best]
    stability = shift_stability(model, x_test)

    def stable(_model: Any) -> tuple[bool, str]:
        return stability >= min_shift_stability, (
            f"{stability:.1%} of predictions unchanged by a 1-pixel shift "
            f"(need {min_shift_stability:.0%})")

    gate = Gate("accuracy", "max", margin, checks=[Check("shift_stability", stable)])
    version, decision = ctx.publish(
        model_name(meta["dataset"]), model, metrics, gate,
        lineage={"gazer.dataset": meta["version"], "characters.dataset": meta["dataset"],
                 "gazer.model_family": best},
        input_example=x_test[:1],
        profile_inputs=as_served(np.concatenate([np.asarray(x_val), np.asarray(x_test)]),
                                 model.transform),
        champion_metrics=_champion_on(ctx, model_name(meta["dataset"]), x_test, y_test),
    )
    card = model_card(best, meta, metrics, {k: v[1] for k, v in models.items()}, stability,
                      decision, balance)
    ctx.log_text(card, "model_card.md")
    return {"model": best, "version": version.version, "aliases": list(version.aliases),
            "passed": decision.passed, "reasons": list(decision.reasons),
            "accuracy": metrics["accuracy"]}


def _champion_on(ctx: Any, name: str, x_test: Any, y_test: Any) -> dict[str, float] | None:
    """The champion's accuracy on this run's test images, so the gate compares both models
    on the same data (a test split with users' corrected drawings in it is harder)."""
    if ctx.registry is None or ctx.registry.find_alias(name, "champion") is None:
        return None
    champion = ctx.registry.load_model(name, "champion")
    if len(x_test) == 0 or getattr(champion, "transform", None) != _transform(x_test):
        return None
    accuracy = float(np.mean(champion.predict(x_test) == np.asarray(y_test)))
    ctx.log_metric("champion.accuracy_on_this_test", accuracy)
    return {"accuracy": accuracy}


def _smoke(model: Any) -> str:
    ds = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins, not the Hugging Face hub
    return f"top-3 for a test digit {ds.labels[0]}: {model.top_k(ds.images[0])}"


def _profile_inputs(version: Any) -> np.ndarray:
    """A version's held-out images rebuilt from its lineage (the dataset it names, split as
    the pipeline's defaults split it), framed as uploads: its drift reference."""
    ds = load_dataset(version.tags.get("characters.dataset", "digits"))  # nosec B615 # gazer's own dataset plug-ins, not the Hugging Face hub
    _, _, x_val, _, x_test, _ = split.fn(
        ds.images, ds.labels, *(_official(ds)), balance={})
    return as_served(np.concatenate([x_val, x_test]),
                     ImageTransform.for_shape(*ds.images.shape[1:]))


def _official(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    if ds.test_images is None:
        return np.zeros((0, *ds.images.shape[1:]), np.uint8), np.zeros(0, np.int64)
    return ds.test_images, ds.test_labels


@register_app(
    "characters",
    description="Handwritten characters: logistic regression vs decision tree vs a small CNN, "
                "gated and registered per dataset",
    model_name=model_name("digits"),
    endpoint="characters",
    quick_params={"train_cnn.epochs": 8},
    smoke=_smoke,
    mount=mount,
    page="/apps/characters",
    profile_inputs=_profile_inputs,
)
def build() -> Pipeline:
    return Pipeline(
        "characters",
        [importer, validate, split, train_logreg, train_tree, train_cnn_step,
         evaluate.named("evaluate_logreg"), evaluate.named("evaluate_tree"),
         evaluate.named("evaluate_cnn"), select],
        wiring={
            "evaluate_logreg.model": "train_logreg", "evaluate_tree.model": "train_tree",
            "evaluate_cnn.model": "train_cnn",
            "select.logreg_metrics": "evaluate_logreg.metrics",
            "select.tree_metrics": "evaluate_tree.metrics",
            "select.cnn_metrics": "evaluate_cnn.metrics",
        },
        description="continuous training for handwritten character recognition",
    )
