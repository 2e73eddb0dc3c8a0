"""The characters pipeline end to end on digits (tiny CNN), its gate, and its routes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gazer.apps.characters.datasets import load_dataset
from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHALLENGER, CHAMPION
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings
from gazer.tracking.memory import MemoryTracker
from tests.serving.factory import settings_for

TINY = {"train_cnn.epochs": 3, "train_cnn.channels": 4, "train_cnn.hidden": 32,
        "train_logreg.max_iter": 50}
WEAK = {"train_cnn.epochs": 1, "train_cnn.channels": 2, "train_cnn.hidden": 4,
        "train_logreg.max_iter": 1, "train_tree.max_depth": 1, "select.min_shift_stability": 0.0}


def _run(runner: Runner, params: dict[str, object]) -> dict[str, object]:
    record = runner.run(get_pipeline("characters"), params)
    assert record.status == "succeeded", record.error
    return record.step("select").metrics | {"run": record.id}  # type: ignore[return-value]


def test_digits_end_to_end_registers_a_gated_champion_with_a_card(
    make_runner: Callable[..., Runner], registry: MemoryRegistry, tracker: MemoryTracker,
    settings: Settings,
) -> None:
    from gazer.monitoring.drift import load_profile
    from gazer.storage.resolve import storage_from_settings

    runner = make_runner()
    record = runner.run(get_pipeline("characters"), TINY)
    assert record.status == "succeeded", record.error
    champion = registry.get_version("characters-digits", CHAMPION)
    assert champion.metrics["accuracy"] > 0.8
    assert champion.tags["characters.dataset"] == "digits"
    assert len(champion.tags["gazer.dataset"]) == 64
    # the drift reference: held-out digits framed as uploads, with the answers on them
    profile = load_profile(storage_from_settings(settings), registry, "characters-digits",
                           champion.version)
    assert profile is not None and profile.kind == "image" and len(profile.vectors) > 100
    assert set(profile.predicted) <= set(load_dataset("digits").class_names)
    assert {"ink", "bbox_height"} <= set(profile.scalars) and profile.confidence
    logged = tracker.runs[record.tracking_run_id]  # type: ignore[index]
    assert {"select/model_card.md", "evaluate_cnn/cnn_roc.png",
            "evaluate_cnn/cnn_confusion_matrix.png", "train_cnn/cnn_training_curves.png",
            "validate/class_balance.md"} <= set(logged["artifacts"])
    assert [step for step, _ in logged["metrics"]["cnn.val_loss"]] == [0, 1, 2]
    assert "logreg.recall.7" in logged["metrics"]
    assert {d["name"] for d in logged["datasets"]} == {"digits-train"}
    model = registry.load_model("characters-digits")
    ds = load_dataset("digits")
    assert model.top_k(ds.images[0])[0][0] in ds.class_names


def test_gate_keeps_the_champion_when_worse_and_replaces_it_when_better(
    make_runner: Callable[..., Runner], registry: MemoryRegistry,
) -> None:
    runner = make_runner()
    _run(runner, WEAK)
    weak = registry.get_version("characters-digits", CHAMPION)
    _run(runner, {**TINY, "select.margin": 0.5})  # better, but not by the margin
    assert registry.get_version("characters-digits", CHAMPION).version == weak.version
    assert registry.get_version("characters-digits", CHALLENGER).tags["gazer.gate"] == "failed"
    _run(runner, TINY)  # better, and the margin is back to 0
    champion = registry.get_version("characters-digits", CHAMPION)
    assert champion.version == 3 and champion.metrics["accuracy"] > weak.metrics["accuracy"]


def test_a_dataset_that_fails_validation_stops_the_run(
    make_runner: Callable[..., Runner], tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 10)):
        np.savez(tmp_path / f"kmnist-{split}-imgs.npz", rng.integers(1, 256, (n, 28, 28)))
        np.savez(tmp_path / f"kmnist-{split}-labels.npz", np.zeros(n, dtype=np.int64))
    record = make_runner().run(get_pipeline("characters"),
                               {"importer.dataset": "kmnist", "importer.folder": str(tmp_path)})
    assert record.status == "failed"
    assert "every one of the 10 classes needs examples" in (record.step("validate").error or "")
    assert record.step("train_cnn").status == "skipped"


def _digit_png(image: np.ndarray) -> bytes:
    """An 8×8 digit drawn large, dark ink on white paper, as a user would upload it."""
    big = Image.fromarray(255 - image).resize((96, 96), Image.Resampling.NEAREST)
    padded = Image.new("L", (160, 140), 255)
    padded.paste(big, (30, 20))
    buf = io.BytesIO()
    padded.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def served(make_runner: Callable[..., Runner], registry: MemoryRegistry, tmp_path: Path
           ) -> TestClient:
    make_runner().run(get_pipeline("characters"), TINY)
    app = create_app(settings_for(tmp_path), registry=registry, endpoints=[
        EndpointSettings(name="characters", model="characters-digits")])
    with TestClient(app) as client:
        yield client  # type: ignore[misc]


def test_the_upload_route_answers_like_the_seed_api(served: TestClient) -> None:
    ds = load_dataset("digits")
    hits = 0
    for i in range(20):
        r = served.post("/guessjapanesecharacter", files={"pfile": ("d.png", _digit_png(
            ds.images[-i - 1]), "image/png")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["result"] in ds.class_names and len(body["top"]) == 3
        assert body["top"][0]["label"] == body["result"]
        hits += body["result"] == str(ds.labels[-i - 1])
    assert hits >= 10  # scanned-style uploads of test digits are mostly recognised
    oip = served.post("/v2/models/characters/infer", json={"inputs": [
        {"name": "x", "shape": [1, 8, 8], "datatype": "UINT8",
         "data": ds.images[0].reshape(-1).tolist()}]})
    assert oip.status_code == 200 and oip.json()["outputs"][0]["shape"] == [1]


def test_the_upload_route_refuses_bad_files_with_clear_messages(served: TestClient) -> None:
    def post(data: bytes, kind: str = "image/png") -> tuple[int, str]:
        r = served.post("/guessjapanesecharacter", files={"pfile": ("f", data, kind)})
        return r.status_code, r.json()["detail"]

    assert post(b"not an image")[0] == 422
    assert "expected an image file" in post(b"not an image")[1]
    blank = io.BytesIO()
    Image.new("L", (40, 40), 255).save(blank, format="PNG")
    assert post(blank.getvalue()) == (422, "the image is empty: no strokes darker or lighter "
                                           "than its background")
    assert post(b"x" * (6 * 2**20))[0] == 413
    assert post(b"%PDF-1.4", "application/pdf")[0] == 422
    missing = served.post("/guessjapanesecharacter")
    assert missing.status_code == 422 and "pfile" in missing.json()["detail"]
