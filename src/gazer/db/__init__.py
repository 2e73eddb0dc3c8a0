"""The database owner: engine, sessions, every table, and Alembic migrations."""

from gazer.db.database import (
    Database,
    head_revision,
    make_engine,
    open_database,
    process_alive,
    safe_url,
)
from gazer.db.tables import (
    Base,
    ChunkRow,
    DatasetVersionRow,
    DriftReportRow,
    EndpointEnergyRow,
    FeedbackHistoryRow,
    FeedbackRow,
    LedgerRow,
    PaperRow,
    PaperTurnRow,
    PolicyDecisionRow,
    PredictionHistogramRow,
    PredictionMinuteRow,
    PredictionRow,
    ResourceSampleRow,
    RunRow,
    StepRow,
    SwapRow,
)

__all__ = [
    "Base", "ChunkRow", "Database", "DatasetVersionRow", "DriftReportRow", "EndpointEnergyRow",
    "FeedbackHistoryRow", "FeedbackRow", "LedgerRow", "PaperRow",
    "PaperTurnRow", "PolicyDecisionRow", "PredictionHistogramRow",
    "PredictionMinuteRow", "PredictionRow", "ResourceSampleRow", "RunRow", "StepRow", "SwapRow",
    "head_revision", "make_engine", "open_database", "process_alive", "safe_url",
]
