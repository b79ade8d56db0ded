"""Percentiles, defined once: linear interpolation between the closest ranks, as PostgreSQL's
`percentile_cont` computes them, so a figure computed in Python (SQLite, the speed-up page)
equals the same figure computed in SQL (the dashboard on PostgreSQL)."""

from collections.abc import Sequence
from math import floor


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` percentile (0.5: the median, 0.9: the 90th) of the values (any order);
    None when there are none."""
    if not values:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError(f"a percentile is a fraction in [0, 1], not {fraction}")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
