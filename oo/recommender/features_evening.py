"""The `improved@2` encoder: `improved@1` plus an evening flag and its interactions.

Many people want urgent work in the day and lighter tasks in the evening (and some the other
way round). `improved@1` sees the hour only through smooth sine/cosine terms, which approximate
such a step poorly; `improved@2` adds `evening` (18:00-04:59 local time) and its products with
the four task terms (priority, overdue, log age, due soon). Registered in `ENCODERS` on import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from oo.recommender.base import FeatureMatrix
from oo.recommender.features import (
    _AGE_SCALE,
    _IMPROVED_NAMES,
    _TASK_TERMS,
    ENCODERS,
    Context,
    Encoder,
    TaskBatch,
    TaskView,
    _improved_batch,
    _task_columns,
    improved,
    shared,
)

__all__ = ["IMPROVED_EVENING", "improved_evening"]

_EVENING_NAMES = ("evening", *(f"{t}*evening" for t in _TASK_TERMS))


def _is_evening(now: datetime) -> float:
    return float(now.hour >= 18 or now.hour < 5)


def improved_evening(task: TaskView, context: Context) -> dict[str, float]:
    """`improved` plus the evening flag and its interactions with the task terms.

    Examples:
        >>> from datetime import UTC, datetime
        >>> t = TaskView("t", 4, datetime(2025, 1, 1, tzinfo=UTC))
        >>> x = improved_evening(t, Context(datetime(2025, 1, 6, 20, tzinfo=UTC)))
        >>> x["evening"], x["prio*evening"], len(x)
        (1.0, 1.0, 28)
    """
    x = improved(task, context)
    evening = _is_evening(context.now)
    x["evening"] = evening
    for t in _TASK_TERMS:
        x[f"{t}*evening"] = _task_term(t, task, context) * evening
    return x


def _task_term(term: str, task: TaskView, context: Context) -> float:
    now = context.now
    if term == "prio":
        return (task.priority - 1) / 3.0
    if term == "overdue":
        return float(task.is_overdue(now))
    if term == "age_log":
        return math.log1p(task.age_days(now)) / _AGE_SCALE
    return float(task.is_due_soon(now))


def _improved_evening_batch(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    return shared(tasks, "improved@2", context, lambda: _improved_evening_matrix(tasks, context))


def _improved_evening_matrix(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    base = _improved_batch(tasks, context).values
    evening = _is_evening(context.now)
    raw = _task_columns(tasks, context.now)
    terms = np.stack(
        [(raw["priority"] - 1.0) / 3.0, raw["overdue"], np.log1p(raw["age"]) / _AGE_SCALE, raw["due_soon"]],
        axis=1,
    )
    extra = np.hstack([np.full((len(base), 1), evening), terms * evening])
    return FeatureMatrix(_IMPROVED_NAMES + _EVENING_NAMES, np.hstack([base, extra]))


IMPROVED_EVENING = Encoder(
    "improved", 2, _IMPROVED_NAMES + _EVENING_NAMES, improved_evening, _improved_evening_batch
)
ENCODERS[IMPROVED_EVENING.key] = IMPROVED_EVENING
