"""wordpredict end to end: a tiny corpus → trained, gated, registered → served and tested."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gazer.apps.wordpredict.behaviour import run_behaviour
from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.ml.profiles import Profile
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHAMPION
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.apps.wordpredict.tiny import TINY_DIRECTIONAL, TINY_INVARIANCE, write_tiny_corpus
from tests.serving.factory import settings_for

TINY = {"corpus": "ca-wiki", "train.dim": 32, "train.heads": 2, "train.ff": 64,
        "train.epochs": 25, "train.batch_size": 64, "train.lr": 3e-3, "train.patience": 3,
        "preprocess.min_count": 2, "register.min_behaviour": 0.0}


@pytest.fixture
def trained(make_runner: Callable[..., Runner], registry: MemoryRegistry, tmp_path: Path
            ) -> dict[str, Any]:
    folder = write_tiny_corpus(tmp_path / "tiny")
    record = make_runner().run(get_pipeline("wordpredict"), {**TINY, "folder": str(folder)})
    assert record.status == "succeeded", record.error
    from gazer.storage.local import LocalStorage

    storage = LocalStorage(tmp_path / "home" / "storage")
    return {"record": record, "model": registry.load_model("wordpredict-ca-wiki"),
            "storage": storage}


def test_the_pipeline_trains_evaluates_and_registers_with_cards(
    trained: dict[str, Any], registry: MemoryRegistry, tracker: Any,
) -> None:
    champion = registry.get_version("wordpredict-ca-wiki", CHAMPION)
    metrics = champion.metrics
    assert metrics["accuracy"] > 0.6 and metrics["top5"] >= metrics["accuracy"]
    key = champion.tags["gazer.profile"]  # the drift reference: validation contexts
    profile = Profile.from_json(trained["storage"].read_bytes(key).decode())
    assert profile.kind == "text" and profile.texts and "oov" in profile.scalars
    assert all(len(t.split()) == 6 for t in profile.texts)
    assert 0.0 <= metrics["behaviour_pass_rate"] <= 1.0
    assert "accuracy.top-100" in metrics
    model = trained["model"]
    assert model.vocab.tokens[:2] == ["<pad>", "<unk>"] and model.config.arch == "gazer"
    run = tracker.runs[trained["record"].tracking_run_id]
    per_epoch = {k for k, v in run["metrics"].items() if len(v) > 1}
    assert {"val_loss", "val_accuracy", "val_top5", "tokens_per_s"} <= per_epoch
    assert {"corpus.train.tokens", "vocab_size", "co2_kg", "parameters"} <= set(run["metrics"])
    assert {"model_card.md", "dataset_card.md", "behaviour_tests.md",
            "training_curves.png"} <= {Path(n).name for n in run["artifacts"]}
    record = trained["record"]
    checkpoints = trained["storage"].list(f"curated/runs/{record.id}/train/checkpoints/")
    assert len(checkpoints) == len(run["metrics"]["val_loss"]) >= 2


def test_behaviour_of_a_model_trained_on_the_tiny_corpus(trained: dict[str, Any]) -> None:
    report = run_behaviour(trained["model"], TINY_INVARIANCE, TINY_DIRECTIONAL)
    assert report.failures() == [], report.as_markdown()


def test_the_baseline_is_a_step_param(make_runner: Callable[..., Runner],
                                      registry: MemoryRegistry, tmp_path: Path) -> None:
    folder = write_tiny_corpus(tmp_path / "tiny", train=200)
    params = {**TINY, "folder": str(folder), "train.arch": "baseline", "train.epochs": 2}
    record = make_runner().run(get_pipeline("wordpredict"), params)
    assert record.status == "succeeded", record.error
    assert registry.load_model("wordpredict-ca-wiki").config.arch == "baseline"


@pytest.fixture
def client(trained: dict[str, Any], registry: MemoryRegistry, tmp_path: Path
           ) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path), registry=registry, endpoints=[
        EndpointSettings(name="wordpredict", model="wordpredict-ca-wiki")])
    with TestClient(app) as c:
        yield c


def test_predicted_word_keeps_the_reference_contract(client: TestClient) -> None:
    r = client.get("/predicted-word", params={"words": "Obriu,el,menú,d',un,objecte"})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"prediction", "model_version", "request_id"}
    assert r.json()["request_id"] == r.headers["x-request-id"]  # the id to give feedback on
    r = client.get("/predicted-word", params={"words": "Primer,obriu,el,contextual,d',un",
                                              "top_k": 5})
    body = r.json()
    assert body["prediction"] == "menú" and len(body["candidates"]) == 5
    probs = [c["prob"] for c in body["candidates"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert {c["word"] for c in body["candidates"]}.isdisjoint({"<unk>", "<pad>"})
    post = client.post("/predicted-word", json={"input": ["Primer", "obriu", "el", "contextual",
                                                          "d'", "un"]})
    assert post.status_code == 200 and post.json()["prediction"] == "menú"
    unknown = client.get("/predicted-word", params={"words": "zz,yy,xx,ww,vv,uu"})
    assert unknown.status_code == 200 and unknown.json()["prediction"] not in {"<unk>", "<pad>"}


def test_predicted_word_errors_say_what_was_expected(client: TestClient) -> None:
    few = client.get("/predicted-word", params={"words": "a,b,c"})
    assert few.status_code == 422
    assert few.json()["detail"] == ("expected exactly 6 words (3 before and 3 after the hidden "
                                    "word); got 3")
    empty = client.get("/predicted-word", params={"words": "a,,c,d,e,f"})
    assert empty.status_code == 422 and "word 2 is empty" in empty.json()["detail"]
    long = client.post("/predicted-word", json={"input": ["a", "b", "c", "d", "e", "x" * 61]})
    assert long.status_code == 422 and "at most 60" in long.json()["detail"]
    missing = client.get("/predicted-word")
    assert missing.status_code == 422 and "words" in missing.json()["detail"]
    wrong_type = client.post("/predicted-word", json={"input": "a b c d e f"})
    assert wrong_type.status_code == 422


def test_the_oip_route_and_the_page(client: TestClient) -> None:
    r = client.post("/v2/models/wordpredict/infer", json={"inputs": [{
        "name": "words", "shape": [2, 6], "datatype": "BYTES",
        "data": ["Primer", "obriu", "el", "contextual", "d'", "un",
                 "Feu", "clic", "a", "acord", "per", "a"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == ["menú", "D'"]
    page = client.get("/apps/wordpredict")
    assert page.status_code == 200 and "Words before" in page.text and "v1" in page.text
