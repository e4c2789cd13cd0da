"""The one percentile the project computes: nearest rank (a value that occurred, never an interpolation)."""

from __future__ import annotations

import math


def percentile(values: list[float], pct: float) -> float | None:
    """The smallest value with at least `pct` % (0..100) of the values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]
