"""Every table gazer keeps, in one metadata: the migrations' single source of truth.

A change to a table here comes with a migration in ``gazer/db/migrations/versions`` (the
test ``tests/db/test_migrations.py`` fails when the two disagree).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    """One pipeline run (``gazer.core.runs``)."""

    __tablename__ = "gazer_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    executor: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[float] = mapped_column(Float, index=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    tracking_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    resumes: Mapped[int] = mapped_column(Integer, default=0)


class StepRow(Base):
    """One step of one run."""

    __tablename__ = "gazer_steps"
    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    cache_key: Mapped[str] = mapped_column(String(64), index=True)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)


class ChunkRow(Base):
    """A finished chunk of a batch job (``gazer.batch.progress_store``)."""

    __tablename__ = "gazer_batch_chunks"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    part_key: Mapped[str] = mapped_column(String(500))
    finished_at: Mapped[float] = mapped_column(Float)


class LedgerRow(Base):
    """An object the storage watcher saw (``gazer.triggers.ledger``)."""

    __tablename__ = "gazer_watch_ledger"
    __table_args__ = (UniqueConstraint("binding", "key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    binding: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(1000))
    version: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)


class PredictionRow(Base):
    """One answer a served model gave (``gazer.monitoring.predictions``)."""

    __tablename__ = "gazer_predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    input_digest: Mapped[str] = mapped_column(String(64))
    output: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    # 0003: the input itself (JSON; a summary when the payload went to storage), the answer
    # as text (the label feedback is compared with), where an oversized payload is stored
    input: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payload_key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # 0005: a classifier's probability for its answer (the label-free accuracy estimate)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # 0008: the model input's drift features (JSON scalars) and an image's 8x8 pixel vector
    # (64 float32), from ``gazer.ml.profiles``
    features: Mapped[str | None] = mapped_column(Text, nullable=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


Index("ix_gazer_predictions_endpoint_version_at", PredictionRow.endpoint, PredictionRow.version,
      PredictionRow.at)
# 0006: the readouts' aggregates read only this index, never the rows
Index("ix_gazer_predictions_readout", PredictionRow.endpoint, PredictionRow.at,
      PredictionRow.version, PredictionRow.role, PredictionRow.status, PredictionRow.latency_ms,
      PredictionRow.confidence)


class FeedbackRow(Base):
    """What a user said about one answer, the latest word (``gazer.monitoring.feedback``)."""

    __tablename__ = "gazer_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    revisions: Mapped[int] = mapped_column(Integer, default=1)


class FeedbackHistoryRow(Base):
    """Every feedback given, earlier ones included (a second one updates ``gazer_feedback``)."""

    __tablename__ = "gazer_feedback_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[float] = mapped_column(Float)


class SwapRow(Base):
    """One attempt to move an endpoint's role to a new version (``gazer.serving.endpoint``)."""

    __tablename__ = "gazer_swaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(20))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ResourceSampleRow(Base):
    """The serving process's resources every few seconds (``gazer.monitoring.resources``)."""

    __tablename__ = "gazer_resource_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    interval_s: Mapped[float] = mapped_column(Float)
    cpu_percent: Mapped[float] = mapped_column(Float)
    cpu_seconds: Mapped[float] = mapped_column(Float)
    rss_bytes: Mapped[int] = mapped_column(BigInteger)
    read_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    write_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    net_sent_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    net_recv_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disk_used_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    energy_kwh: Mapped[float] = mapped_column(Float)
    co2_kg: Mapped[float] = mapped_column(Float)


class EndpointEnergyRow(Base):
    """Each endpoint's share of one sample's energy, by the time its requests took."""

    __tablename__ = "gazer_endpoint_energy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    predictions: Mapped[int] = mapped_column(Integer)
    busy_s: Mapped[float] = mapped_column(Float)
    energy_kwh: Mapped[float] = mapped_column(Float)
    co2_kg: Mapped[float] = mapped_column(Float)


class PredictionMinuteRow(Base):
    """The prediction log rolled up per minute (``gazer.db.rollups``): what the readouts'
    counts and timelines read instead of the rows. ``version`` 0 stands for none (a NULL
    would never meet itself in the primary key)."""

    __tablename__ = "gazer_prediction_minutes"
    endpoint: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    predictions: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    latency_sum: Mapped[float] = mapped_column(Float)
    latency_max: Mapped[float] = mapped_column(Float)


class PredictionHistogramRow(Base):
    """Per hour, the latency (1% log-scale buckets) and confidence (0.01 buckets) histograms
    of one endpoint's version and role (``gazer.db.rollups``)."""

    __tablename__ = "gazer_prediction_histograms"
    endpoint: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(12), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


class DriftReportRow(Base):
    """One drift check of an endpoint's serving version (``gazer.monitoring.drift``)."""

    __tablename__ = "gazer_drift_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    drifted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None: not known
    n_window: Mapped[int] = mapped_column(Integer)
    drivers: Mapped[str] = mapped_column(Text)  # comma-separated feature names
    report: Mapped[str] = mapped_column(Text)  # the whole report, JSON


class PolicyDecisionRow(Base):
    """One decision of a retraining policy, fired or not (``gazer.triggers.policies``)."""

    __tablename__ = "gazer_policy_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    policy: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    fired: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence: Mapped[str] = mapped_column(Text)  # JSON


class DatasetVersionRow(Base):
    """A dataset version a run read, and where its content is kept (``gazer.data.store``)."""

    __tablename__ = "gazer_dataset_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    name: Mapped[str] = mapped_column(String(200), index=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key: Mapped[str | None] = mapped_column(String(500), nullable=True)  # None: not kept
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PaperRow(Base):
    """A paper the papers app indexed; its objects live under ``papers/<id>/`` in storage."""

    __tablename__ = "gazer_papers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[str] = mapped_column(Text)  # JSON list
    source: Mapped[str] = mapped_column(String(20))  # upload, arxiv, url, landing
    source_ref: Mapped[str] = mapped_column(Text)  # file name, arXiv id, URL or storage key
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pages: Mapped[int] = mapped_column(Integer)
    words: Mapped[int] = mapped_column(Integer)
    passages: Mapped[int] = mapped_column(Integer)
    ocr_pages: Mapped[int] = mapped_column(Integer)
    objects: Mapped[str] = mapped_column(Text)  # JSON: what -> storage key


class PaperTurnRow(Base):
    """A question asked of one paper (or of all), in a chat or alone, and what was answered."""

    __tablename__ = "gazer_paper_turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    paper_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    chat_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    turn: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    resolved: Mapped[str] = mapped_column(Text)  # the question with the chat's context added
    answerable: Mapped[bool] = mapped_column(Boolean)
    answers: Mapped[str] = mapped_column(Text)  # JSON list, each with its own request_id
    request_id: Mapped[str] = mapped_column(String(64), index=True)
