"""The serving process's resource history and each endpoint's energy, kept in the database.

Every ``interval_s`` a thread samples the process (CPU time and percent, resident memory,
disk reads and writes), the machine's network counters and the disk under ``GAZER_HOME``,
and writes one ``gazer_resource_samples`` row. Energy is estimated the way CodeCarbon does on
machines without power counters: CPU seconds × the CPU's TDP per logical core (CodeCarbon's
table, its 4 W per thread default for unknown CPUs); CO2 is that energy × the grid's carbon
intensity for ``GAZER_TRACKING__COUNTRY`` (CodeCarbon's offline energy-mix data). Each
endpoint is given a share of the sample's energy in proportion to the time its requests took,
one ``gazer_endpoint_energy`` row per endpoint that answered, so CO2 per 1,000 predictions
per endpoint is a sum over rows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import insert, select

from gazer.db import Database, EndpointEnergyRow, ResourceSampleRow

log = logging.getLogger("gazer.monitoring")
DEFAULT_WATTS_PER_THREAD = 4.0  # CodeCarbon's figure for a CPU it does not know


def carbon_intensity(country: str) -> float:
    """Grams of CO2 per kWh for an ISO-3 country, from CodeCarbon's bundled energy mix."""
    try:
        import codecarbon

        path = Path(codecarbon.__file__).parent / "data/private_infra/global_energy_mix.json"
        return float(json.loads(path.read_text())[country.upper()]["carbon_intensity"])
    except Exception:  # an unknown country or a missing file: the world average
        return 475.0


def watts_per_thread() -> float:
    """The CPU's TDP per logical core, by CodeCarbon's CPU table."""
    try:
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        from codecarbon.core.cpu import TDP

        tdp = float(TDP().tdp or 0)
        threads = psutil.cpu_count() or 1
        return tdp / threads if tdp > 0 else DEFAULT_WATTS_PER_THREAD
    except Exception:  # CodeCarbon's detection is best effort
        return DEFAULT_WATTS_PER_THREAD


class ResourceSampler:
    """Samples this process every ``interval_s`` on a daemon thread.

    ``take_busy()`` returns ``{endpoint: (predictions, busy seconds)}`` since the last call
    (the serving state keeps these counts as requests are answered).
    """

    def __init__(self, db: Database, take_busy: Callable[[], dict[str, tuple[int, float]]],
                 home: Path, country: str, interval_s: float = 10.0) -> None:
        self.db, self.take_busy, self.home = db, take_busy, home
        self.interval_s = interval_s
        self.country = country
        self.intensity_g_per_kwh = carbon_intensity(country)
        self.watts: float | None = None  # measured on the thread: CodeCarbon is slow to ask
        self._process = psutil.Process(os.getpid())
        self._last_cpu = self._cpu_seconds()
        self._process.cpu_percent(None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gazer-resources", daemon=True)

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def _run(self) -> None:
        self.watts = watts_per_thread()
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # a sampler is housekeeping: log and keep going
                log.exception("resource sample failed")

    def sample(self) -> dict[str, Any]:
        """Take one sample now and write it (with the endpoints' shares)."""
        if self.watts is None:
            self.watts = watts_per_thread()
        now = time.time()
        cpu = self._cpu_seconds()
        used, self._last_cpu = max(0.0, cpu - self._last_cpu), cpu
        energy = used * self.watts / 3.6e6
        co2 = energy * self.intensity_g_per_kwh / 1000
        row: dict[str, Any] = {
            "at": now, "host": socket.gethostname(), "pid": self._process.pid,
            "interval_s": self.interval_s, "cpu_percent": self._process.cpu_percent(None),
            "cpu_seconds": used, "rss_bytes": self._process.memory_info().rss,
            "read_bytes": None, "write_bytes": None, "net_sent_bytes": None,
            "net_recv_bytes": None, "disk_used_bytes": None, "energy_kwh": energy,
            "co2_kg": co2}
        try:
            io = self._process.io_counters()
            row["read_bytes"], row["write_bytes"] = io.read_bytes, io.write_bytes
        except (psutil.Error, AttributeError):  # not every platform counts process I/O
            pass
        try:
            net = psutil.net_io_counters()
            row["net_sent_bytes"], row["net_recv_bytes"] = net.bytes_sent, net.bytes_recv
        except (psutil.Error, AttributeError):
            pass
        with contextlib.suppress(OSError):  # a home on a vanished mount
            row["disk_used_bytes"] = shutil.disk_usage(self.home).used
        busy = self.take_busy()
        total = sum(b for _, b in busy.values())
        shares = [{"at": now, "endpoint": name, "predictions": n, "busy_s": b,
                   "energy_kwh": energy * b / total if total else 0.0,
                   "co2_kg": co2 * b / total if total else 0.0}
                  for name, (n, b) in busy.items() if n]
        with self.db.engine.begin() as conn:
            conn.execute(insert(ResourceSampleRow.__table__), [row])  # type: ignore[arg-type]
            if shares:
                conn.execute(insert(EndpointEnergyRow.__table__), shares)  # type: ignore[arg-type]
        return row

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def history(db: Database, since: float) -> list[dict[str, Any]]:
    """Resource samples since ``since``, oldest first."""
    q = select(ResourceSampleRow.__table__).where(ResourceSampleRow.at >= since) \
        .order_by(ResourceSampleRow.at)
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]  # noqa: SLF001


def energy(db: Database, endpoint: str, since: float) -> dict[str, Any]:
    """An endpoint's predictions, energy and CO2 since ``since``, and per 1,000 predictions."""
    q = select(EndpointEnergyRow.predictions, EndpointEnergyRow.energy_kwh,
               EndpointEnergyRow.co2_kg).where(EndpointEnergyRow.endpoint == endpoint,
                                               EndpointEnergyRow.at >= since)
    with db.engine.connect() as conn:
        rows = conn.execute(q).fetchall()
    n = sum(r[0] for r in rows)
    kwh = sum(r[1] for r in rows)
    kg = sum(r[2] for r in rows)
    return {"predictions": n, "energy_kwh": kwh, "co2_kg": kg,
            "energy_kwh_per_1k": kwh / n * 1000 if n else None,
            "co2_g_per_1k": kg * 1000 / n * 1000 if n else None}
