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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gazer.db import Database, LedgerRow, open_database, process_alive

PROCESSING, DONE, FAILED = "processing", "done", "failed"


class WatchLedger:
    """Claims objects exactly once and records their outcome."""

    def __init__(self, db: Database | str) -> None:
        self.db, self._owns_db = open_database(db)
        self.engine = self.db.engine

    def claim(self, binding: str, key: str, version: str, size: int) -> bool:
        """Take the object for this process; ``False`` if it was already taken or done."""
        now = time.time()
        with Session(self.engine) as s:
            row = s.scalars(select(LedgerRow).where(
                LedgerRow.binding == binding, LedgerRow.key == key,
                LedgerRow.version == version)).first()
            if row is not None:
                orphaned = row.status == PROCESSING and row.host == socket.gethostname() \
                    and not process_alive(row.pid, row.started_at)
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
        if self._owns_db:
            self.db.close()
