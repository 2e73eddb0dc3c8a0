"""The papers routes: upload, record, ask, chat, ratings as feedback, summary, delete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from gazer.apps.papers.evaluation import feedback_rows
from gazer.apps.papers.reranker import PassageReranker
from gazer.apps.papers.retrieval import FEATURES
from gazer.core.runner import Runner
from gazer.db import Database
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings
from tests.apps.papers.factory import scanned_pdf, text_pdf
from tests.apps.summarizer.test_app import train_tiny_summarizer
from tests.serving.factory import settings_for

KEY = "papers-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
PDF = text_pdf()


def _reranker() -> PassageReranker:
    """A reranker that learned "covers the question's words and is close" = answers."""
    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES)))
    y = ((x[:, FEATURES.index("coverage")] + x[:, FEATURES.index("cosine")]) > 1.1).astype(int)
    model = PassageReranker().fit(x, y)
    model.threshold = 0.3
    return model


@pytest.fixture
def client(make_runner: Callable[..., Runner], registry: MemoryRegistry, tmp_path: Path
           ) -> Iterator[TestClient]:
    train_tiny_summarizer(make_runner(), tmp_path)
    version = registry.register("papers-reranker", _reranker(),
                                input_example=np.zeros((2, len(FEATURES))))
    promote(registry, "papers-reranker", version.version)
    keys = [{"name": "all", "key": KEY, "scopes": ["predict", "feedback", "admin"]}]
    app = create_app(settings_for(tmp_path, api_keys=keys), registry=registry,
                     endpoints=[EndpointSettings(name="papers-reranker"),
                                EndpointSettings(name="summarizer")])
    with TestClient(app, headers=AUTH) as c:
        yield c


def _upload(client: TestClient, data: bytes = PDF, name: str = "kernels.pdf") -> Any:
    return client.post("/api/papers", files={"file": (name, data, "application/pdf")})


def test_an_uploaded_pdf_is_indexed_once_and_its_record_links_everything(
        client: TestClient) -> None:
    first = _upload(client)
    assert first.status_code == 201, first.text
    paper = first.json()
    assert paper["title"] == "Kernels and Bandwidths for Covariance Estimation"
    assert paper["authors"] == ["Ada Lovelace", "Charles Babbage"]
    assert (paper["pages"], paper["source"], paper["source_ref"]) == (3, "upload", "kernels.pdf")
    again = _upload(client, name="copy.pdf")
    assert again.status_code == 200 and again.json()["id"] == paper["id"]
    assert not again.json()["new"]
    assert [p["id"] for p in client.get("/api/papers").json()] == [paper["id"]]
    links = paper["links"]
    assert client.get(links["original"]).content == PDF
    assert "quadratic spectral kernel" in client.get(links["cleaned"]).text
    assert client.get(links["extracted"]).json()[1]["number"] == 2


def test_bad_uploads_are_422_and_leave_nothing_behind(client: TestClient) -> None:
    for data, expected in ((b"GIF89a not a pdf", "expected a PDF file"),
                           (PDF[: len(PDF) // 3], "could not be read"), (b"", "expected a PDF")):
        response = _upload(client, data)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InvalidPaper"
        assert expected in response.json()["detail"]
    assert client.get("/api/papers").json() == []
    storage = client.app.state.gazer.services.storage  # type: ignore[attr-defined]
    assert storage.list("papers/") == []


def test_an_answer_is_a_passage_with_its_page_section_and_highlights(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    response = client.post(f"/api/papers/{pid}/ask",
                           json={"question": "Which kernel is the default of kernHAC?",
                                 "top_k": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answerable"] and body["reranker_version"] == 1
    best = body["answers"][0]
    assert "quadratic spectral kernel is the default" in best["text"]
    assert (best["page"], best["section"]) == (2, "2. Kernels")
    words = {best["text"][s:e].lower() for s, e in best["highlights"]}
    assert {"kernel", "default", "kernhac"} <= words
    assert len(best["text"].split()) <= 120
    scores = [a["score"] for a in body["answers"]]
    assert scores == sorted(scores, reverse=True)
    context = client.get(f"/api/papers/{pid}/passages/{best['passage']}").json()
    assert context["passage"].split() == best["text"].split() and context["page"] == 2


def test_a_question_the_paper_does_not_answer_gets_no_best_guess(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    body = client.post(f"/api/papers/{pid}/ask", json={
        "question": "How many GPUs did the image classification benchmark use?"}).json()
    assert body == {**body, "answerable": False, "answers": []}


def test_a_chat_resolves_a_follow_up_against_the_earlier_turn(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    first = client.post(f"/api/papers/{pid}/chat", json={
        "question": "How is the bandwidth selected?", "top_k": 1}).json()
    assert "chosen automatically" in first["answers"][0]["text"] and first["turn"] == 1
    follow = client.post(f"/api/papers/{pid}/chat", json={
        "question": "and what is done before it?", "top_k": 1,
        "chat_id": first["chat_id"]}).json()
    assert follow["turn"] == 2 and "bandwidth" in follow["resolved"]
    assert "Prewhitening" in follow["answers"][0]["text"]
    other = client.post(f"/api/papers/{pid}/chat", json={
        "question": "and what is done before it?", "top_k": 1}).json()
    assert other["resolved"] == "and what is done before it?"  # a new chat has no context


def test_questions_across_papers_name_their_paper(client: TestClient) -> None:
    kernels = _upload(client).json()
    other = text_pdf([["Mosaic Displays for Tables", "Abstract",
                       "Mosaic plots show contingency tables as tiles whose area is the count.",
                       "Residual shading colours each tile by its Pearson residual."]],
                     header="Mosaic")
    mosaic = _upload(client, other, "mosaic.pdf").json()
    body = client.post("/api/papers/ask", json={
        "question": "How are tiles coloured in mosaic plots?", "top_k": 3}).json()
    best = body["answers"][0]
    assert (best["paper_id"], best["paper_title"]) == (mosaic["id"], mosaic["title"])
    body = client.post("/api/papers/ask", json={"question": "Which kernel is the default?"})
    assert body.json()["answers"][0]["paper_id"] == kernels["id"]


def test_a_rating_is_feedback_on_the_answer_and_becomes_a_training_row(
        client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    body = client.post(f"/api/papers/{pid}/ask",
                       json={"question": "Which kernel is the default?"}).json()
    rid = body["answers"][0]["request_id"]
    stored = client.post("/v2/feedback", json={"request_id": rid, "rating": 5,
                                               "comment": "exactly"})
    assert stored.status_code == 200, stored.text
    assert (stored.json()["endpoint"], stored.json()["model"]) == \
        ("papers.answers", "papers-reranker")
    assert stored.json()["version"] == 1  # the version that chose the answer
    db: Database = client.app.state.gazer.services.db  # type: ignore[attr-defined]
    x, y = feedback_rows(db)
    assert x.shape == (1, len(FEATURES)) and y.tolist() == [1]
    turns = client.get(f"/api/papers/{pid}/turns").json()
    assert turns[0]["question"] == "Which kernel is the default?"
    assert turns[0]["answers"][0]["request_id"] == rid


def _summary(client: TestClient, pid: str) -> Any:
    """The summary, asking again while it is computed (bounded by attempts, not by time)."""
    for _ in range(60):
        answer = client.get(f"/api/papers/{pid}/summary", params={"wait": 8})
        if answer.status_code != 202:
            return answer
    raise AssertionError("the summary was still computing after 60 requests")


def test_the_summary_comes_from_the_summarizer_model_and_is_cached(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    first = _summary(client, pid)
    assert first.status_code == 200, first.text
    body = first.json()
    assert not body["cached"] and body["summarizer_version"] == 1
    text = client.get(f"/api/papers/{pid}/text").text.replace("\n", " ")
    assert body["paper"] and all(" ".join(s.split()) in " ".join(text.split())
                                 for s in body["paper"])
    assert {s["title"] for s in body["sections"]} >= {"2. Kernels", "3. Bandwidth selection"}
    again = client.get(f"/api/papers/{pid}/summary").json()
    assert again["cached"] and again["paper"] == body["paper"]


def test_a_summary_still_being_computed_answers_202_and_then_the_summary(
        client: TestClient) -> None:
    import threading

    pid = _upload(client).json()["id"]
    worker = client.app.state.papers.summaries  # type: ignore[attr-defined]
    busy = threading.Event()
    worker.submit(busy.wait, 60)  # the one worker is busy: this paper's summary must queue
    try:
        pending = client.get(f"/api/papers/{pid}/summary", params={"wait": 0})
        assert pending.status_code == 202 and pending.headers["retry-after"] == "2"
        assert pending.json() == {"status": "computing", "paper_id": pid,
                                  "summarizer_version": 1, "retry_after": 2}
        again = client.get(f"/api/papers/{pid}/summary", params={"wait": 0})
        assert again.status_code == 202  # joins the queued computation, does not start one
        assert len(client.app.state.papers.pending) == 1  # type: ignore[attr-defined]
    finally:
        busy.set()
    done = _summary(client, pid)
    assert done.status_code == 200 and done.json()["paper"] and not done.json()["cached"]
    assert client.get(f"/api/papers/{pid}/summary", params={"wait": 9}).status_code == 422


def test_deleting_a_paper_removes_every_object_and_its_questions(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    client.post(f"/api/papers/{pid}/ask", json={"question": "Which kernel is the default?"})
    assert _summary(client, pid).status_code == 200
    storage = client.app.state.gazer.services.storage  # type: ignore[attr-defined]
    assert storage.list(f"papers/{pid}/") and storage.list("papers/summaries/")
    assert client.delete(f"/api/papers/{pid}", headers={}).status_code == 200
    assert storage.list("papers/") == []
    assert client.get(f"/api/papers/{pid}").status_code == 404
    assert client.post(f"/api/papers/{pid}/ask", json={"question": "kernel?"}).status_code \
        == 404


@pytest.mark.integration
@pytest.mark.skipif(__import__("shutil").which("tesseract") is None,
                    reason="needs Debian's tesseract-ocr")
def test_a_scanned_page_is_read_by_ocr(client: TestClient) -> None:
    data = scanned_pdf(["Scanned Notes on Kernels", "The Bartlett kernel weights lags",
                        "linearly down to zero at the bandwidth."])
    paper = _upload(client, data, "scan.pdf").json()
    assert paper["ocr_pages"] == 1
    text = client.get(paper["links"]["cleaned"]).text.lower()
    assert "bartlett kernel" in text and "bandwidth" in text


def test_the_text_kind_is_an_enum_the_schema_declares(client: TestClient) -> None:
    pid = _upload(client).json()["id"]
    assert client.get(f"/api/papers/{pid}/text", params={"kind": "extracted"}).status_code == 200
    wrong = client.get(f"/api/papers/{pid}/text", params={"kind": "0/0"})
    assert wrong.status_code == 422 and "cleaned" in wrong.json()["detail"]
    param = next(p for p in client.get("/openapi.json").json()["paths"][
        "/api/papers/{paper_id}/text"]["get"]["parameters"] if p["name"] == "kind")
    assert client.get("/openapi.json").json()["components"]["schemas"][
        param["schema"]["$ref"].rsplit("/", 1)[1]]["enum"] == ["cleaned", "extracted"]
