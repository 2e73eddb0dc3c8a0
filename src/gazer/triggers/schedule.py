"""Cron-style schedules that start pipelines (hourly ingestion, nightly retraining).

Declared beside the watcher's bindings::

    schedules:
      - name: hourly-ingest
        cron: "0 * * * *"
        pipeline: summarizer
        params: {evaluate.sample: 50}

Each firing is claimed in the watcher's ledger under the slot's timestamp, so a slot fires
once however many watchers run; after downtime, only the latest missed slot fires.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from gazer.errors import InvalidInput
from gazer.triggers.ledger import DONE, FAILED, WatchLedger


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A pipeline started on a cron expression (UTC)."""

    name: str
    cron: str
    pipeline: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        from croniter import croniter

        if not croniter.is_valid(self.cron):
            raise InvalidInput(f"schedule {self.name!r}: {self.cron!r} is not a cron expression "
                               f"such as '0 * * * *' (hourly)")

    def last_slot(self, now: dt.datetime) -> dt.datetime:
        """The most recent time at or before ``now`` that this schedule names."""
        from croniter import croniter

        nudged = now + dt.timedelta(seconds=1)  # a slot exactly at ``now`` counts as due
        return croniter(self.cron, nudged).get_prev(dt.datetime)


def load_schedules(items: Any) -> list[Schedule]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidInput(f"'schedules' must be a list; got {type(items).__name__}")
    out = []
    for item in items:
        if not isinstance(item, dict) or not {"name", "cron", "pipeline"} <= set(item):
            raise InvalidInput(f"a schedule needs name, cron and pipeline; got {item!r}")
        out.append(Schedule(**item))
    return out


class Scheduler:
    """Fires due schedules once each, through ``start`` (pipeline name, params) → result."""

    def __init__(self, schedules: list[Schedule], ledger: WatchLedger,
                 start: Callable[[Schedule], str]) -> None:
        self.schedules, self.ledger, self.start = schedules, ledger, start
        self.started_at = dt.datetime.now(dt.UTC)

    def fire_due(self, now: dt.datetime | None = None) -> list[tuple[str, str]]:
        now = now or dt.datetime.now(dt.UTC)
        fired = []
        for schedule in self.schedules:
            slot = schedule.last_slot(now).isoformat()
            if not self.ledger.claim(f"schedule:{schedule.name}", schedule.pipeline, slot, 0):
                continue
            try:
                result = self.start(schedule)
            except Exception as exc:  # a failed run is recorded; the schedule goes on
                self.ledger.finish(f"schedule:{schedule.name}", schedule.pipeline, slot, FAILED,
                                   f"{type(exc).__name__}: {exc}")
                fired.append((schedule.name, FAILED))
                continue
            self.ledger.finish(f"schedule:{schedule.name}", schedule.pipeline, slot, DONE, result)
            fired.append((schedule.name, DONE))
        return fired
