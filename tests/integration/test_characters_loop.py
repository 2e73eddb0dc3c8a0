"""The whole loop on the characters app, with no code: a champion that never saw the digit 3;
users draw 3s and correct its answers through the HTTP API; the policy retrains with their
drawings, the gate passes, the canary's A/B readout turns positive, the canary is promoted,
and the 3s are recognised."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gazer.apps.characters.datasets import load_dataset
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHALLENGER, CHAMPION
from gazer.services import Services
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from gazer.triggers.policies import Policy, decisions, engine_for
from tests.serving.factory import settings_for

MODEL = "characters-digits"
TINY = {"train_cnn.epochs": 3, "train_cnn.channels": 4, "train_cnn.hidden": 32,
        "train_logreg.max_iter": 50, "importer.exclude": "3"}


def loop_policy() -> Policy:
    """The policy of the loop: retrain after 100 corrections, canary at half the traffic."""
    return Policy(name="characters-feedback", app="characters", endpoint="characters",
                  model=MODEL, triggers=[{"kind": "labels", "count": 100}],
                  action={"feedback_param": "importer.feedback", "feedback_window": "1d",
                          "params": TINY, "canary_weight": 0.5},
                  limits={"min_interval": "1h"})


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _draw(client: TestClient, image: np.ndarray, truth: str, key: str) -> str:
    """Upload one drawing and give its correct label; returns what the model answered."""
    r = client.post("/guessjapanesecharacter", headers={"X-Request-Key": key},
                    files={"pfile": ("d.png", _png(image), "image/png")})
    assert r.status_code == 200, r.text
    fb = client.post("/v2/feedback", json={"request_id": r.json()["request_id"],
                                           "label": truth})
    assert fb.status_code == 200, fb.text
    return str(r.json()["result"])


@pytest.mark.integration
def test_corrections_of_an_unseen_class_retrain_canary_and_promote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(tmp_path, drift_interval_s=0)
    monkeypatch.setenv("GAZER_HOME", str(settings.home))
    services = Services(settings, registry=MemoryRegistry())
    registry = services.registry
    services.run_pipeline("characters", TINY)  # v1: the digits without a single 3
    digits = load_dataset("digits")  # nosec B615 # gazer's own dataset plug-ins
    threes = digits.images[digits.labels == 3]
    drawn, held_out = threes[:120], threes[120:]
    policy = loop_policy()
    engine = engine_for(services, {policy.name: policy})
    app = create_app(settings, registry=registry, services=services,
                     endpoints=[EndpointSettings(name="characters", model=MODEL)])
    with TestClient(app) as client:
        answers = [_draw(client, image, "3", f"u{i}") for i, image in enumerate(drawn)]
        assert "3" not in answers  # the champion cannot answer a class it never saw
        [retrained] = engine.tick()
        assert retrained.kind == "retrained", retrained.reason
        assert "120 new labelled answers" in retrained.reason
        assert registry.find_alias(MODEL, CHALLENGER).version == 2  # type: ignore[union-attr]
        assert registry.find_alias(MODEL, CHAMPION).version == 1  # type: ignore[union-attr]

        state = client.app.state.gazer  # type: ignore[attr-defined]
        state.watcher.sync_once()  # the server takes the canary from the registry's tags
        assert state.endpoints["characters"].config.policy == "canary"
        [waiting] = engine.tick()
        assert waiting.kind == "waiting"
        # users keep drawing 3s and other digits; every answer gets its label
        rng = np.random.default_rng(0)
        others = np.flatnonzero(digits.labels != 3)
        for i in range(240):
            if i % 2:
                image, truth = held_out[i % len(held_out)], "3"
            else:
                j = int(rng.choice(others))
                image, truth = digits.images[j], digits.class_names[digits.labels[j]]
            _draw(client, image, truth, f"canary-{i}")
        [promoted] = engine.tick()
        assert promoted.kind == "promoted", promoted.reason
        state.watcher.sync_once()
        assert state.endpoints["characters"].config.policy == "champion"
        assert registry.find_alias(MODEL, CHAMPION).version == 2  # type: ignore[union-attr]
        assert [d["kind"] for d in decisions(services.db, policy.name)] == [
            "promoted", "waiting", "retrained"]
        before = registry.load_model(MODEL, 1)
        after = registry.load_model(MODEL, 2)
        framed = np.stack([_framed(image, after) for image in held_out])
        old = float(np.mean(before.predict(framed) == 3))
        new = float(np.mean(after.predict(framed) == 3))
        assert old == 0.0 and new > 0.5, (old, new)
    services.close()


def _framed(image: np.ndarray, model: object) -> np.ndarray:
    from gazer.apps.characters.preprocess import prepare_image

    return prepare_image(_png(image), model.transform)  # type: ignore[attr-defined]
