"""One ``Settings`` object, read from ``GAZER_*`` environment variables.

Sections nest with a double underscore: ``GAZER_STORAGE__URI``, ``GAZER_TRACKING__COUNTRY``.
Everything defaults to files under ``GAZER_HOME`` (``./.gazer``), so a laptop needs nothing
else; every backend URL can point at a real service instead (PostgreSQL, S3, an MLflow
server, a Ray cluster). Settings are passed to what needs them, never read from a global.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageSettings(BaseModel):
    """Object storage: a local folder (default), ``s3://bucket/prefix`` or ``memory://``."""

    uri: str | None = None
    endpoint_url: str | None = None
    key: str | None = None
    secret: str | None = None
    region: str | None = None
    connect_timeout_s: float = 3.0


class RunsSettings(BaseModel):
    """The run store: any SQLAlchemy URL (SQLite by default, PostgreSQL works unchanged)."""

    url: str | None = None
    # a version that passes its gate becomes champion; False: challenger, for a canary (a
    # retraining policy's runs)
    auto_promote: bool = True
    # seconds between ticks of the retraining policies inside ``gazer watch``
    policy_interval_s: float = Field(default=300.0, gt=0)
    # datasets a run reads are kept in storage by content hash (gazer data versions/checkout)
    keep_datasets: bool = True
    keep_datasets_max_mb: float = Field(default=512.0, ge=0)


class TrackingSettings(BaseModel):
    """MLflow tracking and registry, plus CodeCarbon's offline CO2 estimate."""

    uri: str | None = None
    artifact_uri: str | None = None
    enabled: bool = True
    co2: bool = True
    country: str = "ESP"


class ExecutorSettings(BaseModel):
    """How steps run: threads on this machine, or tasks on a Ray cluster."""

    kind: Literal["local", "ray"] = "local"
    max_workers: int = 4
    ray_address: str | None = None


class QuerySettings(BaseModel):
    """Limits on user SQL (``gazer query``, ``POST /api/enrichment/query``).

    See docs/security.md for the sandbox these apply to.
    """

    timeout_s: float = Field(default=10.0, gt=0)
    memory_limit: str = "1GB"
    threads: int = Field(default=2, ge=1)
    max_rows: int = Field(default=10_000, ge=1)
    temp_limit: str = "2GB"
    max_result_bytes: int = Field(default=64 * 2**20, ge=1)
    workers: int = Field(default=1, ge=1)
    queue_s: float = Field(default=5.0, ge=0)


class EndpointSettings(BaseModel):
    """One served endpoint: a registered model, the alias it follows, its traffic policy."""

    name: str
    model: str | None = None
    alias: str = "champion"
    policy: Literal["champion", "canary", "shadow"] = "champion"
    canary_weight: float = Field(default=0.1, ge=0.0, le=1.0)
    serverless: bool = False
    idle_s: float = 300.0
    batching: bool = True
    # what the prediction log keeps of each request: the payloads, summaries only (personal
    # data), or neither
    log_payloads: Literal["full", "summary", "none"] = "full"

    @property
    def model_name(self) -> str:
        return self.model or self.name


Scope = Literal["predict", "feedback", "query", "admin"]


class ApiKey(BaseModel):
    """One API key: its secret (or, better, the secret's sha256 hex digest) and its scopes.

    ``admin`` implies every other scope. Generate a key and its digest with
    ``python -c "import secrets, hashlib; k = secrets.token_urlsafe(32); print(k,
    hashlib.sha256(k.encode()).hexdigest())"``.
    """

    name: str = "key"
    key: str | None = Field(default=None, min_length=16)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    scopes: list[Scope] = ["predict"]

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key is None) == (self.sha256 is None):
            raise ValueError(f"API key {self.name!r} needs exactly one of 'key' or 'sha256'")
        return self


class ServingSettings(BaseModel):
    """``gazer serve``: where it listens, how it watches the registry, who may do what."""

    host: str = "127.0.0.1"
    port: int = 8000
    poll_interval_s: float = 2.0
    max_body_bytes: int = 10 * 2**20
    api_keys: list[ApiKey] = []
    # Scopes open without a key. Default: predict, feedback and query when no key is
    # configured (admin is then disabled), none once any key is.
    anonymous_scopes: list[Scope] | None = None
    allow_anonymous: bool = False  # serve on a non-loopback address with no keys anyway
    admin_api_key: str | None = None  # shorthand for a key with the admin scope
    predict_api_key: str | None = None  # shorthand for a key with the predict scope
    cors_origins: list[str] = []
    endpoints: list[EndpointSettings] | None = None
    log_predictions: bool = True
    prediction_flush_s: float = 1.0
    # a logged input or output over this many bytes is stored as an object, not in the row
    max_payload_bytes: int = Field(default=64 * 1024, ge=0)
    prediction_retention_days: float | None = Field(default=30.0, gt=0)
    prediction_retention_rows: int | None = Field(default=1_000_000, gt=0)
    # seconds between samples of the serving process's CPU, memory, I/O and energy (0: off)
    resource_interval_s: float = Field(default=10.0, ge=0)
    # seconds between drift checks of every endpoint's champion (0: off), over this window
    drift_interval_s: float = Field(default=600.0, ge=0)
    drift_window: str = Field(default="1h", pattern=r"^(\d+|\d+(\.\d+)?[dh])$")


class PapersSettings(BaseModel):
    """The papers app: upload limits and the arXiv API it searches."""

    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)  # an uploaded PDF's size limit
    max_pages: int = Field(default=1000, gt=0)
    arxiv_api: str = "https://export.arxiv.org/api/query"  # the Atom search API
    arxiv_pdf: str = "https://arxiv.org/pdf/"  # + the paper's id
    arxiv_interval_s: float = Field(default=3.0, ge=0)  # arXiv asks for one request per 3 s
    arxiv_cache_s: float = Field(default=3600.0, ge=0)
    ocr_language: str = "eng"
    # hosts ``POST /api/papers/import {"url": ...}`` may fetch from (the server makes the
    # request, so any host would let a caller reach the server's network); empty: URL imports
    # are off, arXiv imports stay on
    import_hosts: list[str] = Field(default_factory=list)


class EmbeddingSettings(BaseModel):
    """The embedding service every app that embeds text uses (``gazer.ml.embeddings``)."""

    # onnx: MiniLM on ONNX Runtime, same vectors as torch; onnx-int8: quantised, faster, for
    # bulk jobs (cosine ~0.99 to torch); torch: sentence-transformers, the reference
    backend: Literal["onnx", "onnx-int8", "torch"] = "onnx"
    threads: int = Field(default=0, ge=0)  # ONNX sessions working at once (0: cores, up to 4)
    cache_dir: Path | None = None  # the exported model (default ~/.cache/gazer/embeddings)
    memo_size: int = Field(default=100_000, ge=0)  # vectors remembered per process


class Settings(BaseSettings):
    """All of gazer's configuration; ``get_settings()`` reads it from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="GAZER_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default=Path(".gazer"))
    storage: StorageSettings = StorageSettings()
    runs: RunsSettings = RunsSettings()
    tracking: TrackingSettings = TrackingSettings()
    executor: ExecutorSettings = ExecutorSettings()
    serving: ServingSettings = ServingSettings()
    query: QuerySettings = QuerySettings()
    papers: PapersSettings = PapersSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    debug: bool = False

    @property
    def storage_uri(self) -> str:
        return self.storage.uri or f"file://{(self.home / 'storage').resolve()}"

    @property
    def runs_url(self) -> str:
        return self.runs.url or f"sqlite:///{(self.home / 'runs.db').resolve()}"

    @property
    def tracking_uri(self) -> str:
        return self.tracking.uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_uri(self) -> str | None:
        """Where new experiments keep artifacts: the setting; for a tracking server, the
        server's own default (``mlflow server --artifacts-destination``); else a folder."""
        if self.tracking.artifact_uri:
            return self.tracking.artifact_uri
        if self.tracking_uri.startswith(("http://", "https://")):
            return None
        return (self.home / "mlartifacts").resolve().as_uri()

    @property
    def logs_dir(self) -> Path:
        return (self.home / "logs").resolve()


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, then from the dotenv file ``GAZER_ENV_FILE`` names
    (``gazer --env-file``; what ``gazer cluster up`` writes), then the defaults; keyword
    overrides win over all of them."""
    import os

    env_file = os.environ.get("GAZER_ENV_FILE") or None
    if env_file and not Path(env_file).is_file():  # (gazer.errors is a sibling layer)
        raise ValueError(f"GAZER_ENV_FILE names {env_file!r}, which is not a file")
    return Settings(_env_file=env_file, **overrides)  # type: ignore[arg-type,call-arg]
