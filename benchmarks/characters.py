"""Characters benchmark: the `characters` pipeline on Fashion-MNIST and on digits.

Runs the real pipeline (one step at a time, so each model's training time is its own) and
prints a markdown table: test accuracy beside the published Fashion-MNIST benchmark figures
for the same model families, training time, energy/CO2 (CodeCarbon offline estimate),
p50 latency of one prediction, model size. Writes the CNN's curves, confusion matrix and
ROC curves to docs/images/.

    python benchmarks/characters.py [--epochs 12] [--datasets fashion-mnist digits]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from gazer.catalog import get_pipeline
from gazer.core.artifacts import ArtifactRef, load_artifact
from gazer.core.runner import Runner
from gazer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The reference figures from the published Fashion-MNIST benchmark (scikit-learn
# models on raw pixels): logistic regression about 84%, decision tree about 79-80%.
PUBLISHED = {"logreg": "about 84%", "tree": "about 79-80%", "cnn": "-"}


def run(dataset: str, epochs: int, home: Path) -> None:
    settings = Settings(home=home, executor={"max_workers": 1})  # type: ignore[arg-type]
    runner = Runner(settings, echo=print)
    try:
        record = runner.run(get_pipeline("characters"),
                            {"importer.dataset": dataset, "train_cnn.epochs": epochs})
    finally:
        runner.close()
    assert record.status == "succeeded", record.error
    tracking = runner.tracker.client.get_run(record.tracking_run_id)  # type: ignore[attr-defined]
    m = tracking.data.metrics
    print(f"\n## `{dataset}` (run {record.id})\n")
    print("| model | test accuracy | published | macro-F1 | train time | energy kWh | CO2 g "
          "| p50 ms/image | size KiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family in ("logreg", "tree", "cnn"):
        train = record.step(f"train_{family}")
        evaluated = record.step(f"evaluate_{family}").metrics
        print(f"| {family} | {evaluated['accuracy']:.4f} | "
              f"{PUBLISHED[family] if dataset == 'fashion-mnist' else '-'} | "
              f"{evaluated['macro_f1']:.4f} | {train.duration_s:.0f} s | "
              f"{m.get(f'energy_kwh.train_{family}', 0):.5f} | "
              f"{1000 * m.get(f'co2_kg.train_{family}', 0):.2f} | "
              f"{evaluated['latency_ms']:.2f} | {evaluated['size_bytes'] / 1024:.0f} |")
    decision = record.step("select")
    print(f"\nwhole run: {sum(s.duration_s or 0 for s in record.steps):.0f} s of steps, "
          f"energy {m.get('energy_kwh', 0):.5f} kWh, CO2 {1000 * m.get('co2_kg', 0):.2f} g")
    if dataset == "fashion-mnist":
        art = Path(tracking.info.artifact_uri.replace("file://", ""))
        for name in ("train_cnn/cnn_training_curves.png", "evaluate_cnn/cnn_confusion_matrix.png",
                     "evaluate_cnn/cnn_roc.png"):
            if (art / name).exists():
                shutil.copy(art / name, ROOT / "docs" / "images" / f"fashion-{Path(name).name}")
    chosen = load_artifact(runner.storage, ArtifactRef.from_dict(decision.outputs["decision"]))
    print(f"\nselected: {chosen['model']} v{chosen['version']} {chosen['aliases']}; "
          f"gate: {'; '.join(chosen['reasons'])}")
    p50, p99 = route_latency(settings, dataset)
    print(f"POST /guessjapanesecharacter (PNG upload, in-process ASGI client, 300 requests): "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")


def route_latency(settings: Settings, dataset: str) -> tuple[float, float]:
    """Upload PNGs of test images through the seed-compatible route; p50 and p99 in ms."""
    import io
    import time

    import numpy as np
    from fastapi.testclient import TestClient
    from PIL import Image

    from gazer.apps.characters.datasets import load_dataset
    from gazer.serving.app import create_app
    from gazer.settings import EndpointSettings

    ds = load_dataset(dataset)
    images = ds.test_images if ds.test_images is not None else ds.images
    files = []
    for image in images[:300]:
        buf = io.BytesIO()
        Image.fromarray(255 - image).resize((112, 112)).save(buf, format="PNG")
        files.append(buf.getvalue())
    app = create_app(settings, endpoints=[EndpointSettings(name="characters",
                                                           model=f"characters-{dataset}")])
    times = []
    with TestClient(app) as client:
        client.post("/guessjapanesecharacter", files={"pfile": ("x.png", files[0], "image/png")})
        for data in files:
            started = time.perf_counter()
            r = client.post("/guessjapanesecharacter",
                            files={"pfile": ("x.png", data, "image/png")})
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--datasets", nargs="+", default=["fashion-mnist", "digits"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            run(dataset, args.epochs, Path(tmp) / dataset)


if __name__ == "__main__":
    main()
