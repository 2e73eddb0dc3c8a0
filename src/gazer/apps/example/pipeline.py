"""The ``example`` pipeline: two classifiers on scikit-learn's breast-cancer data.

``load → split → (train_logreg, train_tree) → (evaluate_logreg, evaluate_tree) → select``:
the two branches run in parallel; ``select`` registers the better model behind a gate
(accuracy, plus a check that predictions are stable under tiny input noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gazer.catalog import register_app
from gazer.core.artifacts import Metrics
from gazer.core.context import current
from gazer.core.pipeline import Pipeline
from gazer.core.step import step
from gazer.registry.gate import Check, Gate

MODEL_NAME = "example"
TARGET = "target"


@step(outputs=("data", "data_version"))
def load(n: int = 569) -> tuple[pd.DataFrame, str]:
    """The bundled breast-cancer table (569 rows, 30 features), first ``n`` rows."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.head(n)
    digest = current().log_dataset(frame, "breast_cancer",
                                   source="sklearn.datasets.load_breast_cancer")
    print(f"loaded {len(frame)} rows, version {digest[:12]}")
    return frame, digest


@step(outputs=("train_df", "test_df"))
def split(data: pd.DataFrame, test_size: float = 0.25, seed: int = 0) -> Any:
    """A seeded stratified split."""
    from sklearn.model_selection import train_test_split

    train_df, test_df = train_test_split(data, test_size=test_size, random_state=seed,
                                         stratify=data[TARGET])
    return train_df, test_df


@step(outputs="logreg")
def train_logreg(train_df: pd.DataFrame, C: float = 1.0, max_iter: int = 2000) -> Any:
    """Standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    return model.fit(train_df.drop(columns=TARGET), train_df[TARGET])


@step(outputs="tree")
def train_tree(train_df: pd.DataFrame, max_depth: int = 4, seed: int = 0) -> Any:
    """A depth-limited decision tree."""
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
    return model.fit(train_df.drop(columns=TARGET), train_df[TARGET])


@step(outputs="metrics")
def evaluate(model: Any, test_df: pd.DataFrame) -> Metrics:
    """Accuracy, F1 and ROC AUC on the test split, with confusion-matrix and ROC images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        RocCurveDisplay,
        accuracy_score,
        f1_score,
        roc_auc_score,
    )

    ctx = current()
    x, y = test_df.drop(columns=TARGET), test_df[TARGET]
    pred, score = model.predict(x), model.predict_proba(x)[:, 1]
    metrics = Metrics(accuracy=accuracy_score(y, pred), f1=f1_score(y, pred),
                      roc_auc=roc_auc_score(y, score))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    ConfusionMatrixDisplay.from_predictions(y, pred, ax=axes[0], colorbar=False)
    RocCurveDisplay.from_predictions(y, score, ax=axes[1])
    fig.suptitle(f"{ctx.step}: accuracy {metrics['accuracy']:.3f}")
    ctx.log_figure(fig, f"{ctx.step}.png")
    plt.close(fig)
    return metrics


def _stable_under_noise(reference: pd.DataFrame) -> Check:
    def check(model: Any) -> tuple[bool, str]:
        x = reference.drop(columns=TARGET)
        noisy = x * (1 + np.random.default_rng(0).normal(0, 1e-4, size=x.shape))
        same = float((model.predict(x) == model.predict(noisy)).mean())
        return same >= 0.98, f"{same:.1%} of predictions unchanged by 0.01% noise"

    return Check("stable_under_noise", check)


@step(outputs="decision")
def select(
    logreg: Any,
    tree: Any,
    logreg_metrics: Metrics,
    tree_metrics: Metrics,
    test_df: pd.DataFrame,
    data_version: str,
    margin: float = 0.0,
) -> dict[str, Any]:
    """Pick the better model by accuracy; register it behind the gate."""
    ctx = current()
    candidates = {"logreg": (logreg, logreg_metrics), "tree": (tree, tree_metrics)}
    best = max(candidates, key=lambda k: candidates[k][1]["accuracy"])
    model, metrics = candidates[best]
    ctx.log_metrics({f"{k}.accuracy": v[1]["accuracy"] for k, v in candidates.items()})
    gate = Gate("accuracy", "max", margin, checks=[_stable_under_noise(test_df)])
    version, decision = ctx.publish(
        MODEL_NAME, model, metrics, gate,
        lineage={"gazer.dataset": data_version, "gazer.model_family": best},
        input_example=test_df.drop(columns=TARGET).head(3),
        profile_inputs=test_df.drop(columns=TARGET),
    )
    ctx.log_text(_model_card(best, version.version, metrics, candidates, data_version,
                             decision.passed, decision.reasons), "model_card.md")
    return {"model": best, "version": version.version, "aliases": list(version.aliases),
            "passed": decision.passed, "reasons": list(decision.reasons)}


def _model_card(best: str, version: int, metrics: Metrics, candidates: dict[str, Any],
                data_version: str, passed: bool, reasons: Any) -> str:
    rows = "\n".join(f"| {name} | {m['accuracy']:.4f} |" for name, (_model, m)
                      in sorted(candidates.items()))
    return f"""# Model card: {MODEL_NAME} v{version} ({best})

Binary classifier of breast-cancer biopsies (scikit-learn's Wisconsin dataset, 30 numeric
features) as malignant (0) or benign (1). A demonstration model: not for clinical use.

- Data version: `{data_version[:12]}`
- Chosen family: {best} (the better test accuracy of the candidates below)
- Test metrics: {", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))}
- Gate: {"passed" if passed else "refused"}: {"; ".join(reasons)}

| candidate | test accuracy |
|---|---|
{rows}
"""


def _smoke(model: Any) -> str:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=TARGET).head(5)
    return f"predicted {[int(p) for p in model.predict(frame)]} for 5 rows"


@register_app(
    "example",
    description="Logistic regression vs decision tree on a bundled dataset, gated and registered",
    model_name=MODEL_NAME,
    quick_params={},
    smoke=_smoke,
)
def build() -> Pipeline:
    return Pipeline(
        "example",
        [
            load, split, train_logreg, train_tree,
            evaluate.named("evaluate_logreg"), evaluate.named("evaluate_tree"), select,
        ],
        wiring={
            "evaluate_logreg.model": "train_logreg",
            "evaluate_tree.model": "train_tree",
            "select.logreg_metrics": "evaluate_logreg.metrics",
            "select.tree_metrics": "evaluate_tree.metrics",
        },
        description="breast-cancer classifier: logistic regression vs decision tree",
    )
