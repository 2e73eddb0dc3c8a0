"""Summarizer data step, pipeline, and the /summarize route."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gazer.apps.summarizer.data import SDIST, load_corpus
from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHAMPION
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.apps.summarizer.test_model import DOC
from tests.serving.factory import settings_for


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_fake_sdist(folder: Path) -> None:
    """An sdist with the same layout as vaderSentiment 3.3.2's, holding a few sentences."""
    amazon = "2_1\t0.5\tSecond review starts.\r\n1_2\t-1.0\tIt broke.\r\n1_1\t1.2\tGreat phone.\r\n"
    nyt = "7_1\t0.1\tThe council met.\n7_2\t0.0\tIt voted.\n"
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        _tar_member(tar, "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt", amazon.encode())
        _tar_member(tar, "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt", nyt.encode())
    with tarfile.open(folder / SDIST, "w:gz") as tar:
        _tar_member(tar, "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
                    inner.getvalue())


def test_sentences_are_grouped_back_into_documents_in_order(tmp_path: Path) -> None:
    write_fake_sdist(tmp_path)
    docs = load_corpus(tmp_path).set_index("doc_id")
    assert docs.loc["amazon-1", "text"] == "Great phone. It broke."
    assert docs.loc["amazon-1", "sentences"] == 2
    assert docs.loc["amazon-1", "rating"] == pytest.approx(0.1)
    assert docs.loc["nyt-7", "text"] == "The council met. It voted."
    assert sorted(docs["source"].unique()) == ["amazon", "nyt"]


def test_the_pipeline_registers_a_gated_summarizer(
    make_runner: Callable[..., Runner], registry: MemoryRegistry, tmp_path: Path,
) -> None:
    path = tmp_path / "docs.csv"
    pd.DataFrame({"text": [DOC, DOC.replace("phone", "laptop"), "Short one. Two."]}).to_csv(path)
    record = make_runner().run(get_pipeline("summarizer"), {
        "corpus.path": str(path), "build.embedding": "tfidf", "evaluate.sample": 3})
    assert record.status == "succeeded", record.error
    champion = registry.get_version("summarizer", CHAMPION)
    metrics = champion.metrics
    assert metrics["exact_sentences"] == 1.0
    assert metrics["cluster.redundancy"] <= metrics["lead.redundancy"] + 1e-9 or \
        metrics["cluster.coverage"] >= metrics["random.coverage"]
    assert "summary:" in f"summary: {registry.load_model('summarizer').summarize(DOC).text}"


def train_tiny_summarizer(runner: Runner, folder: Path) -> None:
    """A TF-IDF summarizer champion from two documents, in seconds (for apps that use it)."""
    path = folder / "docs.csv"
    pd.DataFrame({"text": [DOC, DOC]}).to_csv(path)
    record = runner.run(get_pipeline("summarizer"), {
        "corpus.path": str(path), "build.embedding": "tfidf", "evaluate.sample": 2})
    assert record.status == "succeeded", record.error


@pytest.fixture
def client(make_runner: Callable[..., Runner], registry: MemoryRegistry, tmp_path: Path
           ) -> Iterator[TestClient]:
    train_tiny_summarizer(make_runner(), tmp_path)
    app = create_app(settings_for(tmp_path), registry=registry,
                     endpoints=[EndpointSettings(name="summarizer")])
    with TestClient(app) as c:
        yield c


def test_summarize_keeps_the_seed_contract(client: TestClient) -> None:
    r = client.post("/summarize", json={"Text": DOC})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["sentences"]) == 4 and body["n_sentences"] == 11
    assert body["sentences"] == sorted(body["sentences"])
    assert client.post("/summarize", json={"Text": DOC, "k": 2}).json()["sentences"].__len__() == 2
    oip = client.post("/v2/models/summarizer/infer", json={"inputs": [
        {"name": "text", "shape": [1], "datatype": "BYTES", "data": [DOC]}]})
    assert oip.status_code == 200 and oip.json()["outputs"][0]["data"][0] == body["summary"]


def test_summarize_refuses_empty_or_oversize_text(client: TestClient) -> None:
    empty = client.post("/summarize", json={"Text": ""})
    assert empty.status_code == 422 and "Text" in empty.json()["detail"]
    big = client.post("/summarize", json={"Text": "word " * 50_000})
    assert big.status_code == 422 and "200000" in big.json()["detail"]
    wrong = client.post("/summarize", json={"text_": "x"})
    assert wrong.status_code == 422
    page = client.get("/apps/summarizer")
    assert page.status_code == 200 and "Summarizer" in page.text


def test_documents_come_from_csv_jsonl_or_parquet_with_a_named_column(tmp_path: Path) -> None:
    from gazer.apps.summarizer.pipeline import read_documents
    from gazer.errors import InvalidInput

    frame = pd.DataFrame({"id": [1, 2], "body": ["One. Two. Three.", "Four. Five."]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.jsonl", "d.parquet"):
        docs = read_documents(str(tmp_path / name), "body")
        assert list(docs["text"]) == list(frame["body"])
    with pytest.raises(InvalidInput, match="no column 'text'; columns: id, body"):
        read_documents(str(tmp_path / "d.csv"), "text")
