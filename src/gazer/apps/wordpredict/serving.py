"""The ``wordpredict`` routes: ``/predicted-word`` (the reference contract) and its page.

``GET /predicted-word?words=w1,w2,w3,w4,w5,w6`` and ``POST /predicted-word`` with
``{"input": [6 words]}`` both answer ``{"prediction": "..."}``; ``top_k`` adds candidates
with probabilities. The Open Inference Protocol route ``/v2/models/wordpredict/infer`` comes
with the endpoint (rows of 6 BYTES words).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gazer.apps.wordpredict.model import MAX_TOP_K, MAX_WORD_CHARS, check_words
from gazer.errors import InvalidInput
from gazer.serving.auth import require
from gazer.serving.middleware import request_id
from gazer.serving.model import ServedModel
from gazer.serving.protocol import json_int
from gazer.ui.pages import templates

ENDPOINT = "wordpredict"


class Candidate(BaseModel):
    word: str
    prob: float


class Prediction(BaseModel):
    """``prediction`` is the reference API's field; the rest is extra."""

    prediction: str
    candidates: list[Candidate] | None = Field(
        default=None, description="The top_k likeliest words, when top_k was given")
    model_version: int
    request_id: str = Field(description="This answer's id (also the x-request-id header): "
                                        "give feedback on it with POST /v2/feedback")


# One word as the server reads it: stripped of spaces, then 1 to MAX_WORD_CHARS characters.
WORD = rf"\s*[^,\s](?:[^,]{{0,{MAX_WORD_CHARS - 2}}}[^,\s])?\s*"


class PredictRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    # The schema states the rule check_words enforces, so its messages stay the clear ones.
    input: list[str] = Field(
        description="3 words before the hidden word, then 3 after",
        examples=[["Feu", "clic", "a", "i", "seleccioneu", "el"]],
        json_schema_extra={"minItems": 6, "maxItems": 6, "items": {
            "type": "string", "pattern": f"^{WORD}$"}})
    top_k: json_int(1, MAX_TOP_K) | None = None  # type: ignore[valid-type]


def _rows(served: ServedModel, words: list[str]) -> np.ndarray:
    """One request's words as the model's input: a (1, 6) row."""
    row = np.empty((1, len(words)), dtype=object)
    row[0] = words
    return row


def predict_words(request: Request, words: list[str], top_k: int | None) -> Prediction:
    problems = check_words(words)
    if problems:
        raise InvalidInput("; ".join(problems))
    state = request.app.state.gazer
    rid = request_id(request)
    answer = state.predict(ENDPOINT, words, rid,
                           request.headers.get("x-request-key"),
                           {"top_words", "top_probabilities"} if top_k else {"predict"},
                           prepare=_rows)
    if not top_k:
        return Prediction(prediction=str(answer.outputs["predict"][0]),
                          model_version=answer.model.version, request_id=rid)
    top = list(zip(answer.outputs["top_words"][0][:top_k],
                   answer.outputs["top_probabilities"][0][:top_k], strict=True))
    return Prediction(prediction=str(top[0][0]), model_version=answer.model.version,
                      request_id=rid,
                      candidates=[Candidate(word=str(w), prob=float(p)) for w, p in top])


def mount(app: FastAPI) -> None:
    """Add ``GET``/``POST /predicted-word`` and the page ``/apps/wordpredict``."""
    errors: dict[int | str, dict[str, Any]] = {
        422: {"description": "not exactly 6 words, an empty word, or a word over "
                             f"{MAX_WORD_CHARS} characters"},
        404: {"description": "the wordpredict endpoint is not served"},
        503: {"description": "no model loaded yet"}}

    @app.get("/predicted-word", response_model=Prediction, response_model_exclude_none=True,
             tags=["wordpredict"], responses=errors,
             dependencies=[require("predict")])
    def predicted_word(
        request: Request,
        words: str = Query(description="6 comma-separated words: 3 before the hidden word, "
                                       "then 3 after", examples=["Feu,clic,a,i,seleccioneu,el"],
                           max_length=6 * (MAX_WORD_CHARS + 1),
                           json_schema_extra={"pattern": f"^{WORD}(?:,{WORD}){{5}}$"}),
        top_k: int | None = Query(None, ge=1, le=MAX_TOP_K,
                                  description="Also return this many candidates"),
    ) -> Prediction:
        """The missing word between 3 words before and 3 after: ``{"prediction": "..."}``."""
        return predict_words(request, [w.strip() for w in words.split(",")], top_k)

    @app.post("/predicted-word", response_model=Prediction, response_model_exclude_none=True,
              tags=["wordpredict"], responses=errors,
             dependencies=[require("predict")])
    def predicted_word_post(body: PredictRequest, request: Request) -> Prediction:
        """The same, with the words as a JSON list: ``{"input": [6 words]}``."""
        return predict_words(request, [w.strip() for w in body.input], body.top_k)

    @app.get("/apps/wordpredict", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        endpoint = request.app.state.gazer.endpoints.get(ENDPOINT)
        current = endpoint.champion.current if endpoint else None
        return templates.TemplateResponse(request, "wordpredict.html", {
            "model": endpoint.config.model_name if endpoint else None,
            "version": current.version if current else None})
