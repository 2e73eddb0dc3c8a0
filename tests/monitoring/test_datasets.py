"""Labelled feedback becomes a versioned dataset, and the characters pipeline trains on it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gazer.core.pipeline import Pipeline
from gazer.errors import InvalidInput
from gazer.monitoring.datasets import feedback_dataset, parse_spec
from gazer.monitoring.feedback import FeedbackStore
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.services import Services
from gazer.settings import Settings


def _png(column: int) -> bytes:
    image = np.full((40, 40), 255, dtype=np.uint8)
    image[8:32, column : column + 4] = 0
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _log_drawings(services: Services, n: int) -> None:
    log = PredictionLog(services.db, flush_s=0.05, storage=services.storage)
    for i in range(n):
        log.record(Prediction(endpoint="characters", model="characters-digits", version=1,
                              role="champion", status=200, latency_ms=1.0, input_digest="",
                              output="", request_id=f"d{i}", inputs=_png(10 + i),
                              outputs={"predict": np.array([7])}))
    log.flush()
    log.close()
    feedback = FeedbackStore(services.db)
    for i in range(n - 1):
        feedback.give(f"d{i}", "characters", label="1", correct=False)  # it was a 1
    feedback.give(f"d{n - 1}", "characters", rating=2)  # no label: not an example


def test_labelled_feedback_is_a_content_hashed_dataset_with_the_drawings(tmp_path: Path) -> None:
    with Services(Settings(home=tmp_path / "home", tracking={"co2": False})) as services:  # type: ignore[arg-type]
        _log_drawings(services, 4)
        data = feedback_dataset(services.db, services.storage, "characters@7d")
        assert len(data) == 3 and list(data.frame["label"]) == ["1", "1", "1"]
        assert data.frame["payload"][0] == _png(10)
        assert services.storage.exists(data.key) and data.version in data.key
        again = feedback_dataset(services.db, services.storage, "characters@7d")
        assert again.version == data.version  # same rows, same version
        FeedbackStore(services.db).give("d0", "characters", label="7")
        assert feedback_dataset(services.db, services.storage, "characters").version \
            != data.version
    with pytest.raises(InvalidInput, match="like 7d, 12h"):
        parse_spec("characters@last-week")


def test_the_characters_pipeline_adds_corrected_drawings_to_its_training_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gazer.apps.characters.pipeline import importer

    monkeypatch.setenv("GAZER_HOME", str(tmp_path / "home"))
    settings = Settings(home=tmp_path / "home", tracking={"co2": False})  # type: ignore[arg-type]
    with Services(settings) as services:
        _log_drawings(services, 4)
        plain = services.run_pipeline(Pipeline("imp", [importer]))
        fed = services.run_pipeline(Pipeline("imp", [importer]),
                                    {"feedback": "characters@7d"})
        sizes = [services.runs.get_run(r.id).step("importer").outputs["labels"]["size"]
                 for r in (plain, fed)]
    assert sizes[1] > sizes[0]  # three more labelled images went in
    log = Path(services.runs.get_run(fed.id).step("importer").log_path or "").read_text()
    assert "3 labelled drawings added" in log
