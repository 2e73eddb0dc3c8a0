"""The ``summarizer`` app's routes: ``POST /summarize`` (the seed contract) and its page."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gazer.serving.auth import require
from gazer.serving.middleware import request_id
from gazer.serving.protocol import json_int

ENDPOINT = "summarizer"


class SummarizeRequest(BaseModel):
    """The seed API's body, plus optional length controls."""

    model_config = ConfigDict(populate_by_name=True, strict=True)

    text: str = Field(alias="Text", min_length=1, max_length=200_000,
                      description="The document to summarise")
    k: json_int(1, 200) | None = Field(  # type: ignore[valid-type]
        default=None, description="Sentences to keep")
    ratio: float | None = Field(default=None, gt=0, le=1,
                                description="Share of sentences to keep (instead of k)")


class SummarizeResponse(BaseModel):
    summary: str
    sentences: list[int] = Field(description="Indexes of the chosen sentences in the document")
    n_sentences: int
    model_version: int


def mount(app: FastAPI) -> None:
    """Add ``POST /summarize`` and the page ``/apps/summarizer``."""

    @app.post("/summarize", response_model=SummarizeResponse, tags=["summarizer"],
              dependencies=[require("predict")],
              responses={404: {"description": "the summarizer endpoint is not served"},
                         503: {"description": "no model loaded yet"}})
    def summarize(body: SummarizeRequest, request: Request) -> SummarizeResponse:
        """Extractive summary: sentences of the input, in document order."""
        state = request.app.state.gazer
        rid = request_id(request)
        served, result = state.call(
            ENDPOINT, rid, lambda m: m.model.summarize(body.text, body.k, body.ratio),
            body.text)
        return SummarizeResponse(summary=result.text, sentences=result.indexes,
                                 n_sentences=len(result.sentences),
                                 model_version=served.version)

    @app.post("/api/summarize/sentences", include_in_schema=False,
              dependencies=[require("predict")])
    def sentences(body: SummarizeRequest, request: Request) -> dict[str, Any]:
        from gazer.apps.summarizer.model import split_sentences

        return {"sentences": split_sentences(body.text)}

    @app.get("/apps/summarizer", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        from gazer.ui.pages import templates

        endpoint = request.app.state.gazer.endpoints.get(ENDPOINT)
        current = endpoint.champion.current if endpoint else None
        return templates.TemplateResponse(request, "summarizer.html", {
            "version": current.version if current else None})
