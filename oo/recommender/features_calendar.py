"""The `improved@3` encoder: `improved@2` plus the calendar and the task's length.

A short free slot before the next meeting suits a short task; a long task started there gets
interrupted. `improved@3` adds what the free/busy calendar says about the moment and how long the
task takes (`oo.recommender.task_length`), and their products, so a policy can learn, per user,
whether short slots favour short tasks. Registered in `ENCODERS` on import.

Calendar terms (all 0 when the calendar is unknown, so an unknown calendar changes nothing):

- ``cal_known``: the calendar was read; ``busy_now``: a busy block covers now;
- ``short_slot``: free now and the next busy block starts within `SHORT_SLOT` minutes.

Task terms: ``len_known``, ``len_short`` (at most `SHORT_TASK` minutes), ``len_long`` (over
`LONG_TASK`). Interactions: each of ``len_short`` and ``len_long`` times ``short_slot`` and
``busy_now``, and ``fits_slot`` / ``overruns_slot``: the task's known length fits in / overruns
the free time before the next busy block (a free stretch with no block in sight fits everything).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oo.recommender.base import FeatureMatrix
from oo.recommender.features import ENCODERS, Context, Encoder, TaskBatch, TaskView
from oo.recommender.features_evening import IMPROVED_EVENING, _improved_evening_batch, improved_evening

__all__ = ["IMPROVED_CALENDAR", "LONG_TASK", "SHORT_SLOT", "SHORT_TASK", "improved_calendar"]

SHORT_SLOT = 60.0  # minutes: a free slot shorter than this is "short"
SHORT_TASK = 30.0
LONG_TASK = 60.0
_CALENDAR_NAMES = (
    "cal_known",
    "busy_now",
    "short_slot",
    "len_known",
    "len_short",
    "len_long",
    "len_short*short_slot",
    "len_long*short_slot",
    "len_short*busy_now",
    "len_long*busy_now",
    "fits_slot",
    "overruns_slot",
)


def _moment(context: Context) -> tuple[float, float, float, float]:
    """``(cal_known, busy_now, short_slot, free minutes or inf)`` of the context."""
    if not context.calendar_known:
        return 0.0, 0.0, 0.0, float("inf")
    busy = float(context.busy_now)
    free = float("inf") if context.free_minutes is None else max(0.0, context.free_minutes)
    return 1.0, busy, float(not busy and free < SHORT_SLOT), (0.0 if busy else free)


def _calendar_terms(minutes: np.ndarray, context: Context) -> np.ndarray:
    """The calendar columns for task lengths `minutes` (NaN: unknown), shape (n, 12)."""
    known, busy, short_slot, free = _moment(context)
    has = ~np.isnan(minutes)
    with np.errstate(invalid="ignore"):
        short = (has & (minutes <= SHORT_TASK)).astype(np.float64)
        long_ = (has & (minutes > LONG_TASK)).astype(np.float64)
        free_now = known * (1.0 - busy)
        fits = (has & (minutes <= free)).astype(np.float64) * free_now
        overruns = (has & (minutes > free)).astype(np.float64) * free_now
    n = len(minutes)
    cols = [
        np.full(n, known),
        np.full(n, busy),
        np.full(n, short_slot),
        has.astype(np.float64),
        short,
        long_,
        short * short_slot,
        long_ * short_slot,
        short * busy,
        long_ * busy,
        fits,
        overruns,
    ]
    return np.stack(cols, axis=1)


def improved_calendar(task: TaskView, context: Context) -> dict[str, float]:
    """`improved@2` plus the calendar and task-length terms of the module docstring.

    Examples:
        >>> from datetime import UTC, datetime
        >>> t = TaskView("t", 1, datetime(2025, 1, 1, tzinfo=UTC), minutes=15.0)
        >>> now = datetime(2025, 1, 6, 10, tzinfo=UTC)
        >>> x = improved_calendar(t, Context(now, calendar_known=True, free_minutes=25.0))
        >>> x["short_slot"], x["len_short*short_slot"], x["fits_slot"], len(x)
        (1.0, 1.0, 1.0, 40)
        >>> improved_calendar(t, Context(now))["len_short*short_slot"]  # calendar unknown
        0.0
    """
    x = improved_evening(task, context)
    minutes = np.array([np.nan if task.minutes is None else task.minutes])
    x.update(zip(_CALENDAR_NAMES, (float(v) for v in _calendar_terms(minutes, context)[0]), strict=True))
    return x


def _improved_calendar_batch(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    base = _improved_evening_batch(tasks, context)
    if isinstance(tasks, TaskBatch):
        minutes = tasks.lengths()
    else:
        minutes = np.array([np.nan if t.minutes is None else t.minutes for t in tasks], dtype=np.float64)
    extra = _calendar_terms(minutes, context)
    return FeatureMatrix(tuple(base.names) + _CALENDAR_NAMES, np.hstack([base.values, extra]))


IMPROVED_CALENDAR = Encoder(
    "improved",
    3,
    (*IMPROVED_EVENING.feature_names, *_CALENDAR_NAMES),
    improved_calendar,
    _improved_calendar_batch,
)
ENCODERS[IMPROVED_CALENDAR.key] = IMPROVED_CALENDAR
