"""One version prepares and answers each image, under canary traffic too."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from gazer.apps.characters.model import ImageClassifier
from gazer.apps.characters.preprocess import ImageTransform
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.serving.factory import settings_for


def _png() -> bytes:
    image = np.full((40, 40), 255, dtype=np.uint8)
    image[10:30, 18:22] = 0  # a dark stroke on white paper
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


class InkClassifier(ImageClassifier):
    """Answers how tall the ink it was given is: the box its version's transform drew."""

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        x = self._check(images, self.transform.height, self.transform.width)
        probs = np.zeros((len(x), len(self.class_names)))
        for i, image in enumerate(x):
            rows = np.flatnonzero((image > 127).any(axis=1))
            height = rows.max() - rows.min() + 1 if len(rows) else 0  # the blank warm-up
            probs[i, self.class_names.index(f"ink-{height}")] = 1.0
        return probs


def test_under_a_50_50_canary_each_answer_was_framed_by_its_own_versions_transform(
        tmp_path: Path) -> None:
    # Same canvas, different boxes: either transform gives an image either model accepts, so
    # only the answer shows which version's transform framed the upload.
    boxes = {1: 20, 2: 10}
    names = tuple(f"ink-{h}" for h in range(29))
    registry = MemoryRegistry()
    example = np.zeros((1, 28, 28), dtype=np.uint8)
    for box in boxes.values():
        registry.register("chars", InkClassifier(names, ImageTransform(28, 28, box)),
                          input_example=example)
    promote(registry, "chars", 1)
    registry.set_alias("chars", "challenger", 2)
    endpoint = EndpointSettings(name="characters", model="chars", policy="canary",
                                canary_weight=0.5)
    app = create_app(settings_for(tmp_path), registry=registry, endpoints=[endpoint])
    answers = []
    with TestClient(app) as client:
        for i in range(60):
            r = client.post("/guessjapanesecharacter", files={"pfile": ("c.png", _png(),
                                                                       "image/png")},
                            headers={"X-Request-Key": f"reader-{i}"})
            assert r.status_code == 200, r.text
            answers.append((r.json()["model_version"], r.json()["result"]))
    assert {version for version, _ in answers} == {1, 2}  # both versions took traffic
    assert all(result == f"ink-{boxes[version]}" for version, result in answers), answers


def test_a_served_request_runs_the_model_once_for_its_answer_and_the_log() -> None:
    from gazer.serving.model import ServedModel

    calls: list[int] = []

    class Counted(InkClassifier):
        def predict_proba(self, images: np.ndarray) -> np.ndarray:
            calls.append(len(images))
            return super().predict_proba(images)

    names = tuple(f"ink-{h}" for h in range(29))
    served = ServedModel("chars", 1, Counted(names, ImageTransform(28, 28, 20)))
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 4:24, 10:14] = 255
    out = served.predict(image, {"predict", "probabilities"})
    assert calls == [1]  # one pass gives both outputs
    assert out["predict"].tolist() == [names.index("ink-20")]
    assert out["probabilities"].shape == (1, len(names))
    assert served.predict(image)["predict"].tolist() == [names.index("ink-20")]
    assert set(served.predict(image, {"probabilities"})) == {"probabilities"}
