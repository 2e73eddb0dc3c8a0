"""``POST /v2/feedback``: what a user says about an answer, by its request id."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gazer.errors import InvalidInput, NotFound
from gazer.monitoring.feedback import FeedbackStore
from gazer.serving.auth import require
from gazer.serving.contract import errors
from gazer.serving.inference import state_of
from gazer.serving.protocol import json_int

router = APIRouter(tags=["feedback"], dependencies=[require("feedback")])


class FeedbackRequest(BaseModel):
    """At least one of ``label``, ``rating`` and ``correct``."""

    # the rule "at least one of label, rating, correct" stated in the schema too
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["label"], "properties": {"label": {"type": "string"}}},
        {"required": ["rating"], "properties": {"rating": {"type": "integer"}}},
        {"required": ["correct"], "properties": {"correct": {"type": "boolean"}}}]})

    request_id: str = Field(min_length=1, max_length=64,
                            description="The answer's request_id (or its x-request-id header)")
    label: str | None = Field(default=None, min_length=1, max_length=500,
                              description="What the right answer was")
    rating: json_int(1, 5) | None = Field(  # type: ignore[valid-type]
        default=None, description="How good the answer was, 1 to 5")
    correct: bool | None = Field(default=None, description="Whether the answer was right")
    comment: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _something(self) -> FeedbackRequest:
        if self.label is None and self.rating is None and self.correct is None:
            raise ValueError("give at least one of label, rating or correct")
        return self


class FeedbackStored(BaseModel):
    request_id: str
    endpoint: str
    model: str
    version: int | None
    answer: str | None = Field(description="What the model answered")
    label: str | None
    rating: int | None
    correct: bool | None
    comment: str | None
    at: float
    revisions: int = Field(description="How many times feedback was given on this request")
    history: list[dict[str, Any]] = Field(description="Every feedback given, oldest first")


def _choices(output: str | None) -> list[str] | None:
    try:
        value = json.loads(output or "")
    except ValueError:
        return None
    choices = value.get("choices") if isinstance(value, dict) else None
    return [str(c) for c in choices] if isinstance(choices, list) else None


def _live(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return next((r for r in rows if r["role"] != "shadow"), rows[0])


@router.post("/v2/feedback", response_model=FeedbackStored, responses=errors(404))
def give_feedback(body: FeedbackRequest, request: Request) -> FeedbackStored:
    """Store feedback on one logged answer; a second feedback on it updates it, history kept.
    A 200 means it is stored."""
    state = state_of(request)
    store = FeedbackStore(state.services.db)
    rows = store.predictions(body.request_id)
    if not rows and state.predictions is not None:
        state.predictions.flush()  # the answer may still be in the log's queue
        rows = store.predictions(body.request_id)
    if not rows:
        raise NotFound(f"no logged prediction has request id {body.request_id!r}; use the "
                       f"request_id of an answer (also its x-request-id header)")
    live = _live(rows)
    if body.label is not None:
        _check_label(state, live, body.label)
    stored = store.give(body.request_id, live["endpoint"], label=body.label,
                        rating=body.rating, correct=body.correct, comment=body.comment)
    return FeedbackStored(model=live["model"], version=live["version"], answer=live["answer"],
                          **{k: v for k, v in vars(stored).items()})


def _check_label(state: Any, live: dict[str, Any], label: str) -> None:
    endpoint = state.endpoints.get(live["endpoint"])
    if endpoint is None:  # a batch job's answer: its logged output may name its choices
        choices = _choices(live.get("output"))
        if choices and label not in choices:
            raise InvalidInput(f"label {label!r} is not one {live['model']} can answer; it "
                               f"answers one of: {', '.join(choices[:30])}")
        return
    loaded = [s.current for s in (endpoint.champion, endpoint.challenger) if s.current]
    model = next((m for m in loaded if m.version == live["version"]),
                 loaded[0] if loaded else None)
    if model is None or model.knows_label(label) is not False:
        return
    names = model.class_names
    known = f"; it answers one of: {', '.join(names[:30])}" if names else ""
    raise InvalidInput(f"label {label!r} is not one {model.name} v{model.version} can "
                       f"answer{known}")
