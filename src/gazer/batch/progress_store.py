"""Where batch jobs record finished chunks, so a restarted job skips them."""

from __future__ import annotations

import time

from sqlalchemy import Float, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gazer.core.runs import Base, _make_engine


class ChunkRow(Base):
    __tablename__ = "gazer_batch_chunks"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    part_key: Mapped[str] = mapped_column(String(500))
    finished_at: Mapped[float] = mapped_column(Float)


class ChunkLedger:
    """Finished chunks per job id, in the run store's database."""

    def __init__(self, url: str) -> None:
        self.engine = _make_engine(url)
        Base.metadata.create_all(self.engine, tables=[ChunkRow.__table__])  # type: ignore[list-item]

    def finished(self, job_id: str) -> dict[int, ChunkRow]:
        with Session(self.engine) as s:
            rows = s.scalars(select(ChunkRow).where(ChunkRow.job_id == job_id)).all()
            s.expunge_all()
            return {r.chunk: r for r in rows}

    def record(self, job_id: str, chunk: int, rows: int, errors: int, part_key: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(ChunkRow(job_id=job_id, chunk=chunk, rows=rows, errors=errors,
                             part_key=part_key, finished_at=time.time()))

    def close(self) -> None:
        self.engine.dispose()
