"""Where batch jobs record finished chunks, so a restarted job skips them."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from gazer.db import ChunkRow, Database, open_database


class ChunkLedger:
    """Finished chunks per job id, in the run store's database."""

    def __init__(self, db: Database | str) -> None:
        self.db, self._owns_db = open_database(db)
        self.engine = self.db.engine

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
        if self._owns_db:
            self.db.close()
