"""The papers app's routes: ``/api/papers`` (upload, import, list, record, delete, summary,
text, ask, chat, search arXiv) and the page ``/apps/papers``.

Answers are passages chosen by the ``papers-reranker`` endpoint (logged, A/B-tested and
swapped like any model); each answer is logged under ``papers.answers`` with its own
``request_id``, so a rating is ``POST /v2/feedback`` on it, and ``gazer run papers`` retrains
the reranker from those ratings.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from enum import Enum, StrEnum
from typing import Any

import numpy as np
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.convertors import Convertor, register_url_convertor

from gazer.apps.papers.arxiv import ABS_URL as ARXIV_URL
from gazer.apps.papers.arxiv import ArxivClient, parse_id
from gazer.apps.papers.evaluation import FEEDBACK_ENDPOINT
from gazer.apps.papers.library import Library, Result, summarise
from gazer.apps.papers.store import Paper, PaperStore
from gazer.errors import Conflict, ModelNotReady
from gazer.ml.embeddings import encode
from gazer.monitoring.predictions import Prediction
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.middleware import request_id
from gazer.serving.protocol import json_int
from gazer.ui.pages import templates

log = logging.getLogger("gazer.papers")
RERANKER = "papers-reranker"
SUMMARIZER = "summarizer"


class PaperOut(BaseModel):
    id: str
    title: str
    authors: list[str]
    source: str = Field(description="upload, arxiv, url or landing")
    source_ref: str = Field(description="The file name, arXiv id, URL or storage key")
    content_hash: str = Field(description="SHA-256 of the PDF: the same PDF is the same paper")
    pages: int
    words: int
    passages: int
    ocr_pages: int = Field(description="Pages read by OCR (no text layer)")
    at: float
    links: dict[str, str] = Field(description="The original, extracted and cleaned text, "
                                              "summary, questions and answers")
    new: bool = Field(default=True, description="False when this PDF was indexed before")


class ImportRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    arxiv: str | None = Field(default=None, description="An arXiv id or arxiv.org URL")
    url: str | None = Field(default=None, description="A PDF's http(s) URL, from a host "
                                                      "in GAZER_PAPERS__IMPORT_HOSTS")

    @model_validator(mode="after")
    def _one(self) -> ImportRequest:
        if (self.arxiv is None) == (self.url is None):
            raise ValueError("give exactly one of arxiv or url")
        return self


class AskRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    question: str = Field(min_length=3, max_length=1000)
    top_k: json_int(1, 20) = 3  # type: ignore[valid-type]


class ChatRequest(AskRequest):
    chat_id: str | None = Field(default=None, max_length=32,
                                description="The conversation to continue (omit to start one)")


class AnswerOut(BaseModel):
    text: str = Field(description="A passage of the paper (at most about 120 words)")
    page: int
    section: str
    score: float = Field(description="The reranker's probability that it answers")
    highlights: list[list[int]] = Field(description="[start, end) of matching words in text")
    paper_id: str
    paper_title: str
    passage: int = Field(description="The passage's index: GET .../passages/{passage}")
    request_id: str = Field(description="Rate this answer: POST /v2/feedback with this id")


class AskResponse(BaseModel):
    question: str
    resolved: str = Field(description="The question searched for (a follow-up in a chat "
                                      "gets the earlier turn's subject)")
    answerable: bool = Field(description="False when no passage answers: no best guess")
    answers: list[AnswerOut]
    reranker_version: int | None = Field(description="None: no reranker trained yet (the "
                                                     "fused retrieval rank is used)")
    request_id: str
    chat_id: str | None = None
    turn: int | None = None


class TextKind(StrEnum):
    cleaned = "cleaned"
    extracted = "extracted"


class SummaryPending(BaseModel):
    status: str = Field(description="computing: ask again after Retry-After seconds")
    paper_id: str
    summarizer_version: int
    retry_after: int


class SearchResponse(BaseModel):
    query: str
    total: int
    start: int
    entries: list[dict[str, Any]]


class PapersApp:
    """The app's process-wide parts: the store, the library index and the arXiv client."""

    def __init__(self, state: Any) -> None:
        settings = state.settings.papers
        self.store = PaperStore(state.services.db, state.services.storage, settings, encode)
        self.library = Library(self.store)
        self.arxiv = ArxivClient(settings)
        self.lock = threading.Lock()
        # Summaries run on one background worker: a long paper takes the summarizer many
        # seconds on a small machine, and no request should hold a connection that long.
        self.summaries = ThreadPoolExecutor(1, thread_name_prefix="papers-summary")
        self.pending: dict[tuple[str, int], Future[dict[str, Any]]] = {}


class PaperId(Convertor[str]):
    """Paper ids (``p`` + 15 hex digits) in paths, so ``/api/papers/ask`` and
    ``/api/papers/search`` are never taken for a paper."""

    regex = "p[0-9a-f]{15}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("paperid", PaperId())
_init = threading.Lock()


def papers_of(request: Request) -> PapersApp:
    app = request.app
    if getattr(app.state, "papers", None) is None:
        with _init:
            if getattr(app.state, "papers", None) is None:
                app.state.papers = PapersApp(app.state.gazer)
    return app.state.papers  # type: ignore[no-any-return]


def paper_out(paper: Paper, new: bool = True) -> PaperOut:
    base = f"/api/papers/{paper.id}"
    links = {"self": base, "original": f"{base}/original", "extracted": f"{base}/text?kind="
             "extracted", "cleaned": f"{base}/text", "summary": f"{base}/summary",
             "questions": f"{base}/turns", "page": f"/apps/papers?paper={paper.id}"}
    return PaperOut(**{k: v for k, v in paper.to_dict().items() if k != "objects"},
                    links=links, new=new)


class _Scorer:
    """The reranker endpoint as a ``Score``; remembers which version and role answered (the
    traffic policy may pick a canary), so the answers are logged under them."""

    def __init__(self, request: Request, rid: str) -> None:
        self.state = request.app.state.gazer
        self.request, self.rid = request, rid
        self.version: int | None = None
        self.role = "champion"

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        answer = self.state.predict(RERANKER, x, self.rid,
                                    self.request.headers.get("x-request-key"), {"predict"})
        self.version, self.role = answer.model.version, answer.role
        return np.asarray(answer.outputs["predict"], dtype=np.float64), float(
            getattr(answer.model.model, "threshold", 0.5))


def _scorer(request: Request, rid: str) -> _Scorer | None:
    """The reranker, when a version is loaded."""
    endpoint = request.app.state.gazer.endpoints.get(RERANKER)
    if endpoint is None or endpoint.champion.current is None:
        return None
    return _Scorer(request, rid)


def _ask(request: Request, body: AskRequest, paper_id: str | None,
         history: list[str] | None = None, chat_id: str | None = None,
         turn: int | None = None) -> AskResponse:
    papers = papers_of(request)
    if paper_id is not None:
        papers.store.get(paper_id)
    rid = request_id(request)
    score = _scorer(request, rid)
    started = time.perf_counter()
    result = papers.library.ask(body.question, paper_id=paper_id, top_k=body.top_k,
                                score=score, history=history or [])
    answers = []
    for i, a in enumerate(result.answers):
        answers.append(AnswerOut(**{k: v for k, v in a.to_dict().items()
                                    if k not in ("start", "end")},
                                 paper_title=papers.library.titles.get(a.paper_id, ""),
                                 request_id=f"{rid[:56]}-a{i}"))
    version = score.version if score else None
    _log_answers(request, result, answers, version, score.role if score else "champion",
                 started)
    papers.store.record_turn(
        paper_id=paper_id, chat_id=chat_id, turn=turn or 0, question=body.question,
        resolved=result.resolved, answerable=result.answerable,
        answers=[{**a.model_dump(), "features": _features_of(result, a)} for a in answers],
        request_id=rid)
    return AskResponse(question=body.question, resolved=result.resolved,
                       answerable=result.answerable, answers=answers,
                       reranker_version=version, request_id=rid, chat_id=chat_id, turn=turn)


def _features_of(result: Result, answer: AnswerOut) -> list[float] | None:
    """The features the reranker saw for ``answer``'s passage (kept for retraining)."""
    for c in result.ranked:
        if c.passage.paper == answer.paper_id and c.passage.index == answer.passage:
            return [float(v) for v in c.features]
    return None


def _log_answers(request: Request, result: Result, answers: list[AnswerOut],
                 version: int | None, role: str, started: float) -> None:
    log_ = request.app.state.gazer.predictions
    if log_ is None:
        return
    latency = (time.perf_counter() - started) * 1000
    for answer in answers:
        log_.record(Prediction(
            endpoint=FEEDBACK_ENDPOINT, model=RERANKER, version=version, role=role,
            status=200, latency_ms=latency, input_digest="", output="",
            request_id=answer.request_id,
            inputs={"question": result.question, "resolved": result.resolved,
                    "paper_id": answer.paper_id, "passage": answer.passage},
            outputs={"predict": [answer.text[:400]], "score": answer.score,
                     "page": answer.page}, mode="full"))


def mount(app: FastAPI) -> None:  # noqa: C901 - one route per nested function
    """Add the papers routes and the page ``/apps/papers``."""
    tags: list[str | Enum] = ["papers"]

    @app.post("/api/papers", response_model=PaperOut, status_code=201, tags=tags,
              dependencies=[require("predict")],
              responses={200: {"model": PaperOut, "description": "This PDF was indexed "
                                                                 "before: its record"}})
    def upload(request: Request, response: Response,
               file: UploadFile = File(description="A PDF")) -> PaperOut:  # noqa: B008
        """Upload a PDF: its text is extracted (OCR for scanned pages), cleaned, cut into
        passages and indexed. 422 for a file that is not a readable PDF within the limits;
        nothing is stored then."""
        data = file.file.read(papers_of(request).store.settings.max_bytes + 1)
        return _add(request, response, data, "upload", file.filename or "upload.pdf")

    @app.post("/api/papers/import", response_model=PaperOut, status_code=201, tags=tags,
              dependencies=[require("predict")], responses={
                  200: {"model": PaperOut, "description": "Indexed before: its record"},
                  **errors(404, 502)})
    def import_paper(body: ImportRequest, request: Request, response: Response) -> PaperOut:
        """Import a paper by arXiv id (or arxiv.org URL) or by any PDF URL."""
        papers = papers_of(request)
        if body.url is not None and ARXIV_URL.search(body.url):
            body = ImportRequest(arxiv=body.url)  # an arxiv.org URL is an arXiv import
        if body.arxiv is not None:
            arxiv_id = parse_id(body.arxiv)
            return _add(request, response, papers.arxiv.pdf(arxiv_id), "arxiv", arxiv_id)
        assert body.url is not None
        return _add(request, response, papers.arxiv.fetch(body.url), "url", body.url)

    @app.get("/api/papers", response_model=list[PaperOut], tags=tags,
             dependencies=[require("predict")])
    def list_papers(request: Request) -> list[PaperOut]:  # noqa: A001
        """Every indexed paper, newest first."""
        return [paper_out(p) for p in papers_of(request).store.papers()]

    @app.get("/api/papers/search", response_model=SearchResponse, tags=tags,
             dependencies=[require("predict")], responses=errors(502))
    def search(request: Request, q: str = Query(  # noqa: B008
            min_length=1, max_length=500, pattern=r"\S", description="arXiv search terms, "
            "or a field query such as ti:transformer"),
               start: int = Query(0, ge=0, le=10_000),
               max_results: int = Query(10, ge=1, le=50)) -> SearchResponse:
        """Search arXiv (one request per 3 s, answers cached); page with start."""
        return SearchResponse(**papers_of(request).arxiv.search(q, start, max_results))

    @app.get("/api/papers/{paper_id:paperid}", response_model=PaperOut, tags=tags,
             dependencies=[require("predict")], responses=errors(404))
    def get_paper(paper_id: str, request: Request) -> PaperOut:
        """A paper's record and links."""
        return paper_out(papers_of(request).store.get(paper_id))

    @app.delete("/api/papers/{paper_id:paperid}", tags=tags, dependencies=[require("admin")],
                responses=errors(404))
    def delete_paper(paper_id: str, request: Request) -> dict[str, Any]:
        """Delete a paper: its row, its questions and every object in storage."""
        papers = papers_of(request)
        keys = papers.store.delete(paper_id)
        papers.library.refresh()
        return {"deleted": paper_id, "objects": len(keys)}

    @app.get("/api/papers/{paper_id:paperid}/original", tags=tags,
             dependencies=[require("predict")],
             response_class=Response, responses={**errors(404), 200: {
                 "content": {"application/pdf": {}}, "description": "The uploaded PDF"}})
    def original(paper_id: str, request: Request) -> Response:
        """The PDF as it was uploaded."""
        return Response(papers_of(request).store.original(paper_id),
                        media_type="application/pdf")

    @app.get("/api/papers/{paper_id:paperid}/text", tags=tags, dependencies=[require("predict")],
             response_class=PlainTextResponse, responses={
                 200: {"description": "The cleaned text (text/plain), or with "
                       "kind=extracted each page's text as the PDF gave it (JSON)",
                       "content": {"text/plain": {"schema": {"type": "string"}},
                                   "application/json": {"schema": {
                                       "type": "array", "items": {
                                           "type": "object",
                                           "properties": {"number": {"type": "integer"},
                                                          "text": {"type": "string"}},
                                           "required": ["number", "text"]}}}}},
                 **errors(404)})
    def text(paper_id: str, request: Request,
             kind: TextKind = TextKind.cleaned) -> PlainTextResponse:
        """The cleaned text (body, then references), or ``kind=extracted``: each page's
        text as the PDF gave it, as JSON."""
        store = papers_of(request).store
        paper = store.get(paper_id)
        cleaned = kind is TextKind.cleaned
        key = paper.objects["text" if cleaned else "extracted"]
        return PlainTextResponse(store.storage.read_bytes(key).decode(),
                                 media_type="text/plain" if cleaned else "application/json")

    @app.get("/api/papers/{paper_id:paperid}/passages/{passage}", tags=tags,
             dependencies=[require("predict")], responses=errors(404))
    def passage_context(paper_id: str, passage: int, request: Request) -> dict[str, Any]:
        """A passage in context: the text before it, it, and after it."""
        papers = papers_of(request)
        return papers.library.context(papers.store.get(paper_id), passage)

    @app.get("/api/papers/{paper_id:paperid}/summary", tags=tags, dependencies=[require("predict")],
             responses={**errors(404, 503), 202: {
                 "model": SummaryPending, "description": "The summary is being computed: "
                 "ask again after Retry-After seconds"}})
    def summary(paper_id: str, request: Request, response: Response,
                wait: float = Query(5.0, ge=0, le=8, description=(  # noqa: B008
                    "Seconds to wait for a summary being computed before answering 202"))
                ) -> dict[str, Any]:
        """Whole-paper and per-section extractive summaries by the summarizer app's
        champion, cached by content hash and summarizer version. The first request for a
        paper starts the summary in the background and waits up to ``wait`` seconds; if it
        is not ready by then the answer is 202 with Retry-After, and asking again returns
        it once done."""
        return _summary(request, response, paper_id, wait)

    @app.get("/api/papers/{paper_id:paperid}/turns", tags=tags, dependencies=[require("predict")],
             responses=errors(404))
    def turns(paper_id: str, request: Request) -> list[dict[str, Any]]:
        """The questions asked of this paper and what was answered, oldest first."""
        store = papers_of(request).store
        store.get(paper_id)
        return [{k: v for k, v in t.items() if k != "answers"} | {"answers": [
            {k: v for k, v in a.items() if k != "features"} for a in t["answers"]]}
            for t in store.turns(paper_id=paper_id)]

    @app.post("/api/papers/ask", response_model=AskResponse, tags=tags,
              dependencies=[require("predict")])
    def ask_all(body: AskRequest, request: Request) -> AskResponse:
        """A question across every indexed paper; each answer names its paper."""
        return _ask(request, body, None)

    @app.post("/api/papers/{paper_id:paperid}/ask", response_model=AskResponse, tags=tags,
              dependencies=[require("predict")], responses=errors(404))
    def ask(paper_id: str, body: AskRequest, request: Request) -> AskResponse:
        """Passages of the paper that answer the question, best first, with the matching
        words highlighted; ``answerable: false`` when none does."""
        return _ask(request, body, paper_id)

    @app.post("/api/papers/{paper_id:paperid}/chat", response_model=AskResponse, tags=tags,
              dependencies=[require("predict")], responses=errors(404, 409))
    def chat(paper_id: str, body: ChatRequest, request: Request) -> AskResponse:
        """One turn of a conversation about the paper: follow-ups ("and what is its
        default?") are resolved against the earlier turns."""
        store = papers_of(request).store
        chat_id = body.chat_id or uuid.uuid4().hex[:16]
        earlier = store.turns(chat_id=chat_id) if body.chat_id else []
        if earlier and earlier[0]["paper_id"] != paper_id:
            raise Conflict(f"chat {chat_id} is about paper {earlier[0]['paper_id']}, "
                               f"not {paper_id}")
        return _ask(request, body, paper_id, [t["resolved"] for t in earlier], chat_id,
                    len(earlier) + 1)

    @app.get("/apps/papers", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        return templates.TemplateResponse(request, "papers.html", {})


def _add(request: Request, response: Response, data: bytes, source: str, ref: str
         ) -> PaperOut:
    papers = papers_of(request)

    def progress(done: int, total: int, what: str) -> None:
        if done == total or done % 25 == 0:
            log.info("indexing %s: page %d/%d (%s)", ref, done, total, what)

    paper, new = papers.store.add(data, source, ref, progress=progress)
    if not new:
        response.status_code = 200
    papers.library.refresh()
    return paper_out(paper, new)


def _summary(request: Request, response: Response, paper_id: str, wait: float
             ) -> dict[str, Any]:
    papers = papers_of(request)
    paper = papers.store.get(paper_id)
    state = request.app.state.gazer
    endpoint = state.endpoints.get(SUMMARIZER)
    current = endpoint.champion.current if endpoint else None
    if current is None:
        raise ModelNotReady("summaries use the summarizer app's model, and none is loaded: "
                            "`gazer run summarizer`, then wait for the server to load it")
    cached = papers.store.cached_summary(paper, current.version)
    if cached is not None:
        return {**cached, "cached": True}
    job = (paper.id, current.version)
    with papers.lock:
        future = papers.pending.get(job)
        if future is None:
            future = papers.summaries.submit(_compute_summary, request, paper, current.version)
            papers.pending[job] = future
            future.add_done_callback(lambda _f: papers.pending.pop(job, None))
    try:
        return {**future.result(timeout=wait), "cached": False}
    except FutureTimeout:
        response.status_code = 202
        response.headers["Retry-After"] = "2"
        return SummaryPending(status="computing", paper_id=paper.id,
                              summarizer_version=current.version, retry_after=2).model_dump()


def _compute_summary(request: Request, paper: Paper, version: int) -> dict[str, Any]:
    papers = papers_of(request)
    state = request.app.state.gazer
    rid = request_id(request)

    def summarize(text: str, k: int) -> list[str]:
        row = np.empty((1, 3), dtype=object)
        row[0] = [text, k, None]
        answer = state.predict(SUMMARIZER, text[:2000], f"{rid[:50]}-s{k}",
                               request.headers.get("x-request-key"), {"predict", "sentences"},
                               prepare=lambda _m, _t: row)
        return _sentences(text, answer.outputs["sentences"][0])

    out = {**summarise(papers.store.document(paper.id), summarize),
           "summarizer_version": version, "content_hash": paper.content_hash}
    papers.store.cache_summary(paper, version, out)
    return out


def _sentences(text: str, chosen: Any) -> list[str]:
    """The chosen sentences' text (the summarizer's indexes refer to its own split)."""
    from gazer.apps.summarizer.model import split_sentences

    sentences = split_sentences(text)
    return [sentences[int(i)] for i in chosen if 0 <= int(i) < len(sentences)]
