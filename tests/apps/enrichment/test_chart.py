"""The sentiment-over-time chart puts days on a sorted time axis."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from gazer.apps.enrichment.serving import sentiment_figure


def test_days_are_dates_in_order_whatever_order_they_arrive_in() -> None:
    # days as the query returns them: ordered by day overall, but topic "b" has days that
    # topic "a" lacks, which a categorical axis placed after a's last day
    frame = pd.DataFrame({
        "topic": ["b", "a", "a", "b", "a", "b"],
        "day": ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05", "2026-11-08",
                "2026-11-11"],
        "sentiment": [0.1, 0.2, 0.3, -0.1, 0.0, 0.4]})
    fig = sentiment_figure(frame.sample(frac=1.0, random_state=3), "t")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines if line.get_label() in ("a", "b")}
    for label, days in (("a", ["2026-11-02", "2026-11-03", "2026-11-08"]),
                        ("b", ["2026-11-01", "2026-11-05", "2026-11-11"])):
        x = mdates.date2num(pd.to_datetime(days))
        assert np.allclose(mdates.date2num(lines[label].get_xdata()), x)
    assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator)
    # b's 11-01 lies left of a's first day: one time axis, not categories in arrival order
    assert mdates.date2num(lines["b"].get_xdata())[0] < mdates.date2num(
        lines["a"].get_xdata())[0]
