"""The gazer exception tree.

Every error a user can cause or meet is a ``GazerError`` with an HTTP ``status_code``,
so the CLI prints one clear line and the HTTP layer answers ``{"error", "detail"}``::

    GazerError (500)
    ├── InvalidInput (422, ValueError)
    │   ├── InvalidPipeline (422)
    │   ├── InvalidParam (422)
    │   ├── InvalidArtifact (422)
    │   └── QueryRefused (422)
    ├── NotFound (404, LookupError)
    │   ├── PipelineNotFound
    │   ├── RunNotFound
    │   ├── ArtifactNotFound
    │   ├── ModelNotFound
    │   └── DatasetNotFound
    ├── Conflict (409)
    ├── ModelNotReady (503)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── PayloadTooLarge (413)
    ├── QueryLimitExceeded (422)
    ├── QueryCrashed (500)
    ├── QueryBusy (503)
    ├── StorageError (502)
    │   └── StorageUnavailable (503)
    ├── RunStoreError (503)
    ├── TrackingError (502)
    └── StepFailed (500)
        └── RunFailed (500)

Backend errors (botocore, SQLAlchemy, MLflow) are translated at the adapter that
imports the backend, with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any


class GazerError(Exception):
    """Root of every gazer error."""

    status_code: int = 500

    @property
    def detail(self) -> str:
        return str(self)


class InvalidInput(GazerError, ValueError):
    """A value given by the user does not have the expected shape or type."""

    status_code = 422


class InvalidPipeline(InvalidInput):
    """A pipeline cannot run as declared: cycle, missing input, duplicate name."""

    status_code = 422


class InvalidParam(InvalidInput):
    """A run parameter is unknown, malformed or of the wrong type."""

    status_code = 422


class InvalidArtifact(InvalidInput):
    """An artifact cannot be serialised or its stored form cannot be read."""

    status_code = 422


class QueryRefused(InvalidInput):
    """User SQL breaks a sandbox rule (one statement, SELECT only, registered tables only)."""

    status_code = 422

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"query refused ({rule}): {message}")
        self.rule = rule
        self.message = message


class NotFound(GazerError, LookupError):
    """A named thing does not exist."""

    status_code = 404


class PipelineNotFound(NotFound):
    """No pipeline is registered under that name."""


class RunNotFound(NotFound):
    """No run has that id in the run store."""


class ArtifactNotFound(NotFound):
    """No object exists at that storage key."""


class ModelNotFound(NotFound):
    """No registered model, version or alias by that name."""


class Conflict(GazerError):
    """The request is valid but the thing it acts on is not in a state that allows it."""

    status_code = 409


class DatasetNotFound(NotFound):
    """No dataset loader by that name, or its files are not where they were looked for."""


class ModelNotReady(GazerError):
    """The model exists but is not loaded yet (starting, loading or failed to load)."""

    status_code = 503
    retry_after_s = 2


class Unauthorized(GazerError):
    """The request lacks a valid API key."""

    status_code = 401


class Forbidden(GazerError):
    """The route is disabled or the key does not allow it."""

    status_code = 403


class PayloadTooLarge(GazerError):
    """The request body is over the configured size limit."""

    status_code = 413


class QueryLimitExceeded(GazerError):
    """User SQL ran past the sandbox's time or memory limit and was stopped."""

    status_code = 422

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class QueryCrashed(GazerError):
    """The worker process running user SQL died; the server itself is unaffected."""

    status_code = 500


class QueryBusy(GazerError):
    """Every SQL worker stayed busy for the queue timeout; retry shortly."""

    status_code = 503
    retry_after_s = 2


class StorageError(GazerError):
    """The object store failed to read or write."""

    status_code = 502


class StorageUnavailable(StorageError):
    """The object store cannot be reached."""

    status_code = 503


class RunStoreError(GazerError):
    """The run store's database (SQLite or PostgreSQL) failed or cannot be reached."""

    status_code = 503


class TrackingError(GazerError):
    """The tracking or registry backend failed."""

    status_code = 502


class StepFailed(GazerError):
    """A pipeline step raised after all its retries."""

    status_code = 500

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step {step!r} failed: {message}")
        self.step = step


class RunFailed(StepFailed):
    """A pipeline run ended without succeeding (a step failed, or it was interrupted).

    The one behaviour for a failed run, wherever it was started: ``gazer run`` prints the
    message and exits 1, the trigger loop records it, ``Pipeline.run`` raises it. ``run``
    is the stored ``RunRecord``.
    """

    def __init__(self, run: Any, step: str | None = None) -> None:
        GazerError.__init__(
            self, f"run {run.id} of {run.pipeline!r} {run.status}: {run.error}; resume with "
                  f"`gazer run {run.pipeline} --resume {run.id}`")
        self.run = run
        self.step = step or "?"
