"""``SwapLog``: every swap attempt kept in the ``gazer_swaps`` table, across restarts.

Swaps are rare (an alias moved), so each is written when it happens, from the watcher's
thread; a database error is logged and never stops serving.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import select

from gazer.db import Database, SwapRow
from gazer.serving.endpoint import SwapEvent

log = logging.getLogger("gazer.serving")


class SwapLog:
    """Writes and reads swap attempts in ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, event: SwapEvent) -> None:
        try:
            with self.db.session() as s:
                s.add(SwapRow(**dataclasses.asdict(event)))
        except Exception:  # the swap happened; losing its row must not affect serving
            log.exception("could not record the swap of %s %s", event.endpoint, event.role)

    def recent(self, endpoint: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first, as the dicts ``SwapEvent`` would give."""
        fields = [f.name for f in dataclasses.fields(SwapEvent)]
        q = select(SwapRow).order_by(SwapRow.at.desc(), SwapRow.id.desc()).limit(limit)
        if endpoint:
            q = q.where(SwapRow.endpoint == endpoint)
        with self.db.session() as s:
            return [{f: getattr(r, f) for f in fields} for r in s.scalars(q)]
