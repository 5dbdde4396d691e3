"""A change detector on a model's prediction residuals: forget only when the world moved.

A constant discount (`linucb@4`/`@5`: gamma 0.99, about 100 reactions of memory) relearns a
changed taste quickly but throws away evidence all the time, which costs accuracy when tastes
are stable and reactions noisy. The alternative is to keep a long memory and forget *when a
change is detected*. This detector watches the standardized residual of each reaction,

    z = (reward - predicted reward) / s,      s² an exponentially weighted mean of the residual²,

with a two-sided CUSUM (Page 1954): g⁻ <- max(0, g⁻ - z - drift), g⁺ <- max(0, g⁺ + z - drift).
While the model is right, z has mean ~0 and both sums stay near 0; after a change of taste the
tasks it favours disappoint (z < 0 over and over) and g⁻ crosses `threshold`. An alarm resets
both sums. No alarm is raised during the first `warmup` reactions, when the prior (not a
change) explains the misfit.

Examples:
    >>> det = ChangeDetector(threshold=3.0, drift=0.5, warmup=0)
    >>> [det.update(0.0) for _ in range(3)]
    [False, False, False]
    >>> alarms = [det.update(-1.5) for _ in range(6)]
    >>> alarms.index(True)  # two reactions 2 sds below the prediction: the CUSUM passes 3
    1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["ChangeDetector"]

#: Rate of the residual variance estimate (~50 reactions) and its starting value.
_VAR_RATE = 0.02
_VAR_START = 0.5


class ChangeDetector:
    """Two-sided CUSUM on standardized residuals.

    Args:
        threshold: Alarm when a cumulative sum exceeds this (in residual standard deviations).
        drift: Allowance subtracted per reaction (the smallest shift, in sds, worth detecting / 2).
        warmup: Reactions seen before any alarm may fire.
    """

    def __init__(self, *, threshold: float, drift: float, warmup: int = 0) -> None:
        if not (math.isfinite(threshold) and threshold > 0 and math.isfinite(drift) and drift >= 0):
            raise ValueError(f"threshold must be > 0 and drift >= 0, got {threshold!r}, {drift!r}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup!r}")
        self.threshold, self.drift, self.warmup = float(threshold), float(drift), int(warmup)
        self.low = self.high = 0.0
        self.var = _VAR_START
        self.seen = 0
        self.alarms = 0

    def update(self, residual: float) -> bool:
        """Feed one residual (reward - prediction); True when a change is detected."""
        z = residual / math.sqrt(self.var)
        self.var += _VAR_RATE * (min(residual * residual, 25.0 * self.var) - self.var)
        self.low = max(0.0, self.low - z - self.drift)
        self.high = max(0.0, self.high + z - self.drift)
        self.seen += 1
        if self.seen > self.warmup and max(self.low, self.high) > self.threshold:
            self.low = self.high = 0.0
            self.alarms += 1
            return True
        return False

    def get_state(self) -> dict[str, Any]:
        """The running sums and counts as JSON-able numbers."""
        return {"low": self.low, "high": self.high, "var": self.var, "seen": self.seen, "alarms": self.alarms}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore `get_state()` output.

        Raises:
            ValueError: On missing or invalid fields.
        """
        try:
            low, high, var = (float(state[k]) for k in ("low", "high", "var"))
            seen, alarms = state["seen"], state["alarms"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("state.change is missing fields or not numeric") from exc
        counts_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (seen, alarms))
        sums_ok = all(math.isfinite(v) and v >= 0 for v in (low, high)) and math.isfinite(var) and var > 0
        if not (counts_ok and sums_ok):
            raise ValueError("state.change has invalid values")
        self.low, self.high, self.var, self.seen, self.alarms = low, high, var, seen, alarms


def detector_for(
    change: Mapping[str, float] | None, smoothing: float | None
) -> tuple[dict[str, float], ChangeDetector | None]:
    """Validated `change` params of a LinUCB and their detector (None when unset)."""
    if not change:
        return {}, None
    if smoothing is not None:
        raise ValueError("change detection needs discount or no forgetting, not smoothing")
    params = {k: float(v) for k, v in change.items()}
    if set(params) != {"threshold", "drift", "warmup", "keep"} or not 0.0 < params["keep"] < 1.0:
        raise ValueError(f"change needs threshold, drift, warmup and keep in (0, 1), got {dict(change)!r}")
    det = ChangeDetector(threshold=params["threshold"], drift=params["drift"], warmup=int(params["warmup"]))
    return params, det
