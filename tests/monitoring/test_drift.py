"""Drift: a version's reference profile against the logged window, end to end on the digits
model, with the statistics checked on their own."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from gazer.apps.characters.datasets import load_dataset
from gazer.apps.characters.model import SklearnImageClassifier
from gazer.apps.characters.preprocess import ImageTransform
from gazer.core.context import store_profile
from gazer.db import Database
from gazer.ml import drift, profiles
from gazer.monitoring.drift import drift_report, history, parse_window
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.storage.resolve import storage_from_settings
from tests.serving.factory import settings_for


@pytest.fixture(scope="module")
def digits() -> tuple[SklearnImageClassifier, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    ds = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.images))
    train, held = order[:1000], order[1000:]
    est = LogisticRegression(C=0.1, max_iter=300).fit(
        ds.images[train].reshape(len(train), -1) / 255.0, ds.labels[train])
    model = SklearnImageClassifier(est, "logreg", ds.class_names, ImageTransform(8, 8, 8))
    return model, ds.images[held[:400]], ds.images[held[400:]]


def _log(db: Database, model: SklearnImageClassifier, images: np.ndarray) -> None:
    log = PredictionLog(db, flush_s=0.05)
    for i, image in enumerate(images):
        x = image[None]
        probs = model.predict_proba(x)
        log.record(Prediction(endpoint="characters", model="m", version=1, role="champion",
                              status=200, latency_ms=1.0, input_digest="", output="",
                              request_id=f"r{i}", inputs=b"png", model_input=x,
                              outputs={"predict": probs.argmax(axis=1), "probabilities": probs},
                              class_names=model.class_names))
    log.flush()
    log.close()


def _setup(tmp_path: Path, model: SklearnImageClassifier, reference: np.ndarray) -> tuple[
        Database, object, MemoryRegistry]:
    settings = settings_for(tmp_path)
    registry = MemoryRegistry()
    registry.register("m", model)
    promote(registry, "m", 1)
    key = store_profile(storage_from_settings(settings), "m", 1, model, reference)
    assert key == profiles.profile_key("m", 1)
    registry.set_version_tags("m", 1, {"gazer.profile": key})
    return Database(settings.runs_url), storage_from_settings(settings), registry


def test_the_same_distribution_does_not_drift_and_inverted_images_do(
        tmp_path: Path, digits: tuple) -> None:
    model, reference, fresh = digits
    db, storage, registry = _setup(tmp_path, model, reference)
    _log(db, model, fresh)
    calm = drift_report(db, storage, registry, "characters", "m", "1h")
    assert calm["drifted"] is False, calm["detail"]
    assert calm["n_window"] == len(fresh) and calm["profile"]["kind"] == "image"
    names = {f["name"] for f in calm["features"]}
    assert {"ink", "intensity_mean", "bbox_height", "predicted class", "confidence",
            "pixels (domain classifier)"} <= names

    time.sleep(0.01)
    since = time.time()
    _log(db, model, 255 - fresh)  # inverted: dark strokes on light paper
    shifted = drift_report(db, storage, registry, "characters", "m", len(fresh))
    assert shifted["drifted"] is True
    assert "ink" in shifted["drivers"] and "pixels (domain classifier)" in shifted["drivers"]
    assert shifted["window"]["last"] == len(fresh) and since > calm["at"]
    assert [h["drifted"] for h in history(db, "characters")] == [True, False]
    db.close()


def test_a_version_without_a_profile_says_so(tmp_path: Path, digits: tuple) -> None:
    model, _, fresh = digits
    settings = settings_for(tmp_path)
    registry = MemoryRegistry()
    registry.register("m", model)
    promote(registry, "m", 1)
    db = Database(settings.runs_url)
    report = drift_report(db, storage_from_settings(settings), registry, "characters", "m")
    assert report["drifted"] is None and "no reference profile" in report["detail"]
    db.close()


def test_windows_parse_as_a_duration_or_a_count() -> None:
    assert parse_window("500") == (None, 500)
    since, last = parse_window("2h")
    assert last is None and since == pytest.approx(time.time() - 7200, abs=5)
    with pytest.raises(Exception, match="window"):
        parse_window("soon")


def test_holm_and_the_minimum_effect() -> None:
    assert drift.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    rng = np.random.default_rng(1)
    big = rng.normal(0, 1, 200_000).tolist()
    # a trivial shift in a huge window is significant but below the minimum effect
    report = drift.compare(profiles.Profile("numbers", 1000, {"x0": big[:1000]}),
                           drift.Window({"x0": (np.asarray(big) + 0.02).tolist()}, [], [],
                                        n=200_000))
    [x0] = report.features
    assert x0.p_value < 0.05 or x0.effect < 0.1
    assert report.drifted is False
    moved = drift.compare(profiles.Profile("numbers", 1000, {"x0": big[:1000]}),
                          drift.Window({"x0": (np.asarray(big[:500]) + 1.0).tolist()}, [], [],
                                       n=500))
    assert moved.drifted is True and moved.drivers == ["x0"]


def test_text_features_and_a_text_domain_classifier() -> None:
    vocabulary = frozenset({"el", "gat", "menja", "peix"})
    found = profiles.features(np.array([["el", "gat", "menja", "un", "peix", "blau"]],
                                       dtype=object), vocabulary)
    assert found is not None and found.kind == "text"
    assert found.scalars["words"] == 6 and found.scalars["oov"] == pytest.approx(2 / 6)
    rng = np.random.default_rng(0)
    words_a = ["fitxer", "menú", "obrir", "desar", "document", "eina"]
    words_b = ["partit", "equip", "gol", "lliga", "jugador", "estadi"]
    a = [" ".join(rng.choice(words_a, 8)) for _ in range(200)]
    b = [" ".join(rng.choice(words_b, 8)) for _ in range(200)]
    same = drift.domain_classifier("text", a[:100], a[100:], text=True)
    other = drift.domain_classifier("text", a[:100], b[:100], text=True)
    assert same.effect < 0.2 and other.effect > 0.9 and other.p_value < 1e-6


def _png(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_uploads_through_the_app_drift_when_inverted_and_the_server_reports_it(
        tmp_path: Path, digits: tuple) -> None:
    from gazer.apps.characters.preprocess import as_served
    from gazer.settings import EndpointSettings
    from tests.serving.factory import client_for

    model, reference, fresh = digits
    registry = MemoryRegistry()
    registry.register("m", model)
    promote(registry, "m", 1)
    settings = settings_for(tmp_path)
    key = store_profile(storage_from_settings(settings), "m", 1, model,
                        as_served(reference, model.transform))
    registry.set_version_tags("m", 1, {"gazer.profile": key or ""})
    with client_for(tmp_path, registry, EndpointSettings(name="characters", model="m"),
                    drift_interval_s=0) as client:
        def send(images: np.ndarray) -> None:
            for image in images:
                r = client.post("/guessjapanesecharacter",
                                files={"pfile": ("d.png", _png(image), "image/png")})
                assert r.status_code == 200, r.text

        send(fresh[:150])
        calm = client.get("/v2/models/characters/drift", params={"window": "150"})
        assert calm.status_code == 200, calm.text
        assert calm.json()["drifted"] is False, calm.json()["detail"]
        send(255 - fresh[:150])  # dark strokes on light paper: the app inverts them back...
        send(np.clip(fresh[:150].astype(int) + 120, 0, 255))  # ...but not a grey background
        shifted = client.get("/v2/models/characters/drift", params={"window": "150"}).json()
        assert shifted["drifted"] is True, shifted["detail"]
        assert client.get("/v2/models/characters/drift",
                          params={"window": "soon"}).status_code == 422
        history = client.get("/v2/models/characters/drift/history").json()
        assert [h["drifted"] for h in history] == [True, False]
        scheduled = client.app.state.gazer.check_drift()  # type: ignore[attr-defined]
        assert [r["endpoint"] for r in scheduled] == ["characters"]
        metrics = client.get("/metrics").text
        assert 'gazer_drift_detected{endpoint="characters",version="1"}' in metrics
        assert "gazer_drift_effect" in metrics


def test_a_version_registered_before_profiles_is_profiled_on_demand_from_its_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digits: tuple) -> None:
    """characters-digits v1 has no profile (as every version before profiles): the drift
    check rebuilds its held-out images from its lineage through the characters app."""
    from gazer.catalog import app_for_model

    model, _, fresh = digits
    settings = settings_for(tmp_path)
    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    registry = MemoryRegistry()
    registry.register("characters-digits", model, tags={"characters.dataset": "digits"})
    promote(registry, "characters-digits", 1)
    assert app_for_model("characters-digits").name == "characters"  # type: ignore[union-attr]
    db = Database(settings.runs_url)
    storage = storage_from_settings(settings)
    report = drift_report(db, storage, registry, "characters", "characters-digits")
    assert report["profile"]["kind"] == "image" and report["profile"]["n"] > 100
    assert registry.get_version("characters-digits", 1).tags["gazer.profile"] == \
        profiles.profile_key("characters-digits", 1)
    db.close()
