"""The watcher's ledger: each object it saw, once, with what became of it.

An object is identified by (binding, key, version) where the version is its etag, or its
size and modification time on stores without etags. The row is written *before* the work
starts, under a unique key, so two watchers, or one restarted watcher, never start the same
object twice; a row left ``processing`` by a watcher that died is taken up again (batch jobs
resume from their finished chunks, so nothing is done twice).
"""

from __future__ import annotations

import os
import socket
import time

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from gazer.core.runs import Base, _alive, _make_engine

PROCESSING, DONE, FAILED = "processing", "done", "failed"


class LedgerRow(Base):
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


class WatchLedger:
    """Claims objects exactly once and records their outcome."""

    def __init__(self, url: str) -> None:
        self.engine = _make_engine(url)
        Base.metadata.create_all(self.engine, tables=[LedgerRow.__table__])  # type: ignore[list-item]

    def claim(self, binding: str, key: str, version: str, size: int) -> bool:
        """Take the object for this process; ``False`` if it was already taken or done."""
        now = time.time()
        with Session(self.engine) as s:
            row = s.scalars(select(LedgerRow).where(
                LedgerRow.binding == binding, LedgerRow.key == key,
                LedgerRow.version == version)).first()
            if row is not None:
                orphaned = row.status == PROCESSING and row.host == socket.gethostname() \
                    and not _alive(row.pid, row.started_at)
                if not orphaned:
                    return False
                row.pid, row.started_at = os.getpid(), now
                s.commit()
                return True
            s.add(LedgerRow(binding=binding, key=key, version=version, size=size,
                            status=PROCESSING, host=socket.gethostname(), pid=os.getpid(),
                            started_at=now))
            try:
                s.commit()
            except IntegrityError:  # another watcher claimed it between our read and write
                return False
        return True

    def finish(self, binding: str, key: str, version: str, status: str, result: str) -> None:
        with Session(self.engine) as s, s.begin():
            row = s.scalars(select(LedgerRow).where(
                LedgerRow.binding == binding, LedgerRow.key == key,
                LedgerRow.version == version)).one()
            row.status, row.result, row.finished_at = status, result[:5000], time.time()

    def entries(self, binding: str | None = None) -> list[LedgerRow]:
        with Session(self.engine) as s:
            q = select(LedgerRow).order_by(LedgerRow.id)
            if binding:
                q = q.where(LedgerRow.binding == binding)
            rows = list(s.scalars(q))
            s.expunge_all()
            return rows

    def close(self) -> None:
        self.engine.dispose()
