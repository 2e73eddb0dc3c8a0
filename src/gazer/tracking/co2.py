"""Energy and CO2 of a run, from CodeCarbon's offline tracker (never the network)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Emissions:
    """What CodeCarbon estimated for a block of work; zeros when it could not measure."""

    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    measured: bool = False

    def as_metrics(self) -> dict[str, float]:
        return {"energy_kwh": self.energy_kwh, "co2_kg": self.co2_kg}


@contextlib.contextmanager
def measure_emissions(country: str, enabled: bool = True) -> Iterator[Emissions]:
    """Measure the block with ``OfflineEmissionsTracker(country_iso_code=country)``.

    These machines have no power counters, so CodeCarbon estimates from the CPU's TDP and
    load. A failure to start or stop the tracker is logged, never raised: CO2 accounting
    must not break a training run.
    """
    result = Emissions()
    tracker = None
    if enabled:
        try:
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)

            tracker = OfflineEmissionsTracker(
                country_iso_code=country,
                save_to_file=False,
                log_level="error",
                allow_multiple_runs=True,
                measure_power_secs=5,
            )
            tracker.start()
        except Exception as exc:  # process boundary for an optional measurement
            log.warning("CodeCarbon could not start (%s); CO2 not measured", exc)
            tracker = None
    try:
        yield result
    finally:
        if tracker is not None:
            try:
                co2 = tracker.stop()
                data = tracker.final_emissions_data
                result.co2_kg = float(co2 or 0.0)
                result.energy_kwh = float(getattr(data, "energy_consumed", 0.0) or 0.0)
                result.measured = True
            except Exception as exc:  # same boundary as above
                log.warning("CodeCarbon could not stop (%s); CO2 not measured", exc)
