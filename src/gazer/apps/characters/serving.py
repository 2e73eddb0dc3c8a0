"""The ``characters`` app's own routes: the seed-compatible upload API and the drawing page."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from gazer.apps.characters.preprocess import MAX_BYTES, prepare_image
from gazer.errors import InvalidInput, PayloadTooLarge
from gazer.serving.auth import require
from gazer.serving.middleware import request_id
from gazer.serving.model import ServedModel
from gazer.ui.pages import templates

ENDPOINT = "characters"


class Candidate(BaseModel):
    label: str
    prob: float


class Guess(BaseModel):
    """``result`` is the seed API's field; the rest is extra."""

    result: str
    top: list[Candidate]
    model_version: int
    request_id: str = Field(description="This answer's id (also the x-request-id header): "
                                        "give feedback on it with POST /v2/feedback")


def _prepare(served: ServedModel, data: bytes) -> np.ndarray:
    """The upload framed by the transform of the version that will answer it: (1, h, w)."""
    return prepare_image(data, served.model.transform)[None]


def guess(request: Request, data: bytes, top_k: int) -> Guess:
    state = request.app.state.gazer
    rid = request_id(request)
    answer = state.predict(ENDPOINT, data, rid, request.headers.get("x-request-key"),
                           {"predict", "probabilities"}, prepare=_prepare)
    names = answer.model.model.class_names
    probs = np.asarray(answer.outputs["probabilities"])[0]
    order = np.argsort(probs)[::-1][:top_k]
    return Guess(result=names[int(answer.outputs["predict"][0])],
                 top=[Candidate(label=names[i], prob=float(probs[i])) for i in order],
                 model_version=answer.model.version, request_id=rid)


def mount(app: FastAPI) -> None:
    """Add ``POST /guessjapanesecharacter`` and the page ``/apps/characters``."""

    @app.post("/guessjapanesecharacter", response_model=Guess, tags=["characters"],
              dependencies=[require("predict")],
              responses={413: {"description": "file over the size limit"},
                         422: {"description": "not an image, or an empty one"},
                         404: {"description": "the characters endpoint is not served"},
                         503: {"description": "no model loaded yet"}})
    def guess_route(
        request: Request,
        pfile: UploadFile = File(description="A PNG/JPEG of one character, any size or colour"),
        top_k: int = Query(3, ge=1, le=10, description="How many candidates to return"),
    ) -> Guess:
        """Classify one uploaded character image: ``{"result": "ki", ...}``."""
        data = pfile.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise PayloadTooLarge(f"image must be at most {MAX_BYTES} bytes; got more")
        if pfile.content_type and not pfile.content_type.startswith(("image/", "application/"
                                                                      "octet-stream")):
            raise InvalidInput(f"pfile must be an image (image/png, image/jpeg, ...); "
                               f"got {pfile.content_type}")
        return guess(request, data, top_k)

    @app.get("/apps/characters", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Any:
        state = request.app.state.gazer
        endpoint = state.endpoints.get(ENDPOINT)
        current = endpoint.champion.current if endpoint else None
        return templates.TemplateResponse(request, "characters.html", {
            "model": endpoint.config.model_name if endpoint else None,
            "version": current.version if current else None,
            "classes": list(current.model.class_names) if current else [],
        })
