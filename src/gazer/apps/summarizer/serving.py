"""The ``summarizer`` app's routes: ``POST /summarize`` (the seed contract) and its page."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gazer.apps.summarizer.model import split_sentences
from gazer.serving.auth import require
from gazer.serving.middleware import request_id
from gazer.serving.protocol import json_int
from gazer.ui.pages import templates

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
    request_id: str = Field(description="This answer's id (also the x-request-id header): "
                                        "give feedback on it with POST /v2/feedback")


def _row(text: str, k: int | None, ratio: float | None) -> np.ndarray:
    """One request as the model's input: a ``[text, k, ratio]`` row."""
    row = np.empty((1, 3), dtype=object)
    row[0] = [text, k, ratio]
    return row


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
        answer = state.predict(ENDPOINT, body.text, rid,
                               request.headers.get("x-request-key"),
                               {"predict", "sentences", "n_sentences"},
                               prepare=lambda _served, text: _row(text, body.k, body.ratio))
        out = answer.outputs
        return SummarizeResponse(summary=str(out["predict"][0]),
                                 sentences=[int(i) for i in out["sentences"][0] if i >= 0],
                                 n_sentences=int(out["n_sentences"][0]),
                                 model_version=answer.model.version, request_id=rid)

    @app.post("/api/summarize/sentences", include_in_schema=False,
              dependencies=[require("predict")])
    def sentences(body: SummarizeRequest, request: Request) -> dict[str, Any]:
        return {"sentences": split_sentences(body.text)}

    @app.get("/apps/summarizer", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        endpoint = request.app.state.gazer.endpoints.get(ENDPOINT)
        current = endpoint.champion.current if endpoint else None
        return templates.TemplateResponse(request, "summarizer.html", {
            "version": current.version if current else None})
