"""Feature encoders: a task and the moment of asking -> the feature dict `x` a policy sees.

Each encoder has a name and a version (`textbook@1`, `improved@1`); a policy records the key
of the encoder it was trained with, because changing an encoding changes what the weights
mean. An encoder is two functions that agree exactly (a unit test checks it): `encode`, a
readable pure function for one task, and `encode_batch`, the numpy version that produces a
`FeatureMatrix` for many candidates at once.

- `textbook@1`: the five raw features of the textbook LinUCB spec.
- `improved@1`: an intercept, log age, cyclical hour, weekend, priority one-hot, due flags,
  and interactions of the task features with time of day and weekend. Everything is O(1) in
  scale, so a single prior precision suits every weight.
- `improved@2` (`oo.recommender.features_evening`): `improved@1` plus an evening flag.
- `improved@3` (`oo.recommender.features_calendar`): `improved@2` plus the calendar (busy now,
  a short free slot) and the task's length, with their interactions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from oo.recommender.base import FeatureMatrix
from oo.recommender.tasks import Context, T, TaskBatch, TaskView

__all__ = [
    "ENCODERS",
    "IMPROVED",
    "TEXTBOOK",
    "Context",
    "Encoder",
    "TaskBatch",
    "TaskView",
    "get_encoder",
    "improved",
    "textbook",
]

_AGE_SCALE = math.log1p(30.0)  # a 30-day-old task has age_log == 1


def textbook(task: TaskView, context: Context) -> dict[str, float]:
    """The textbook features, raw.

    Examples:
        >>> from datetime import UTC, datetime
        >>> now = datetime(2025, 1, 4, 9, 30, tzinfo=UTC)  # a Saturday
        >>> textbook(TaskView("t", 3, datetime(2025, 1, 2, 9, 30, tzinfo=UTC)), Context(now))
        {'is_overdue': 0.0, 'task_age_days': 2.0, 'priority': 3.0, 'hour_of_day': 9.0, 'day_of_week': 5.0}
    """
    now = context.now
    return {
        "is_overdue": float(task.is_overdue(now)),
        "task_age_days": task.age_days(now),
        "priority": float(task.priority),
        "hour_of_day": float(now.hour),
        "day_of_week": float(now.weekday()),
    }


TEXTBOOK_NAMES = ("is_overdue", "task_age_days", "priority", "hour_of_day", "day_of_week")
_TASK_TERMS = ("prio", "overdue", "age_log", "due_soon")
_TIME_TERMS = ("hour_sin", "hour_cos", "weekend")
_IMPROVED_NAMES = (
    "bias",
    "age_log",
    "hour_sin",
    "hour_cos",
    "weekend",
    "prio_2",
    "prio_3",
    "prio_4",
    "overdue",
    "due_soon",
    "has_due",
    *(f"{t}*{c}" for t in _TASK_TERMS for c in _TIME_TERMS),
)


def _clock(now: datetime) -> tuple[float, float, float]:
    hour = now.hour + now.minute / 60.0
    angle = 2.0 * math.pi * hour / 24.0
    return math.sin(angle), math.cos(angle), float(now.weekday() >= 5)


def improved(task: TaskView, context: Context) -> dict[str, float]:
    """Scaled, cyclical and interaction features (see the module docstring).

    `prio` = (priority - 1) / 3 is used in the interactions; the main effect is one-hot so
    that the value of each priority level is learned freely.

    Examples:
        >>> from datetime import UTC, datetime
        >>> now = datetime(2025, 1, 4, 18, 0, tzinfo=UTC)  # Saturday, 18:00
        >>> x = improved(TaskView("t", 4, datetime(2024, 12, 5, 18, 0, tzinfo=UTC)), Context(now))
        >>> x["bias"], x["age_log"], x["prio_4"], x["weekend"], x["prio*weekend"], round(x["hour_sin"], 6)
        (1.0, 1.0, 1.0, 1.0, 1.0, -1.0)
        >>> len(x)
        23
    """
    now = context.now
    h_sin, h_cos, weekend = _clock(now)
    task_terms = {
        "prio": (task.priority - 1) / 3.0,
        "overdue": float(task.is_overdue(now)),
        "age_log": math.log1p(task.age_days(now)) / _AGE_SCALE,
        "due_soon": float(task.is_due_soon(now)),
    }
    x = {
        "bias": 1.0,
        "age_log": task_terms["age_log"],
        "hour_sin": h_sin,
        "hour_cos": h_cos,
        "weekend": weekend,
        "prio_2": float(task.priority == 2),
        "prio_3": float(task.priority == 3),
        "prio_4": float(task.priority == 4),
        "overdue": task_terms["overdue"],
        "due_soon": task_terms["due_soon"],
        "has_due": float(task.has_due()),
    }
    time_terms = {"hour_sin": h_sin, "hour_cos": h_cos, "weekend": weekend}
    for t in _TASK_TERMS:
        for c in _TIME_TERMS:
            x[f"{t}*{c}"] = task_terms[t] * time_terms[c]
    return x


def _task_columns(tasks: Sequence[TaskView] | TaskBatch, now: datetime) -> dict[str, np.ndarray]:
    """Per-task raw columns; for `TaskView`s the Python loop is the costly part of batch encoding."""
    if isinstance(tasks, TaskBatch):
        return tasks.columns(now)
    return {
        "priority": np.fromiter((t.priority for t in tasks), np.float64, len(tasks)),
        "age": np.fromiter((t.age_days(now) for t in tasks), np.float64, len(tasks)),
        "overdue": np.fromiter((t.is_overdue(now) for t in tasks), np.float64, len(tasks)),
        "due_soon": np.fromiter((t.is_due_soon(now) for t in tasks), np.float64, len(tasks)),
        "has_due": np.fromiter((t.has_due() for t in tasks), np.float64, len(tasks)),
    }


def _textbook_batch(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    now = context.now
    raw = _task_columns(tasks, now)
    ones = np.ones(len(tasks))
    cols = [raw["overdue"], raw["age"], raw["priority"], ones * now.hour, ones * now.weekday()]
    return FeatureMatrix(TEXTBOOK_NAMES, np.stack(cols, axis=1))


def shared(tasks: Sequence[TaskView] | TaskBatch, name: str, context: Context, make: Callable[[], T]) -> T:
    """An encoding part that other encoders build on: once per `TaskBatch` and context."""
    return tasks.memo((name, context), make) if isinstance(tasks, TaskBatch) else make()


def _improved_batch(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    return shared(tasks, "improved@1", context, lambda: _improved_matrix(tasks, context))


def _improved_matrix(tasks: Sequence[TaskView] | TaskBatch, context: Context) -> FeatureMatrix:
    now = context.now
    raw = _task_columns(tasks, now)
    n = len(tasks)
    h_sin, h_cos, weekend = _clock(now)
    prio = (raw["priority"] - 1.0) / 3.0
    age_log = np.log1p(raw["age"]) / _AGE_SCALE
    out = np.empty((n, len(_IMPROVED_NAMES)))
    out[:, :5] = (1.0, 0.0, h_sin, h_cos, weekend)
    out[:, 1] = age_log
    for j, level in enumerate((2.0, 3.0, 4.0)):
        out[:, 5 + j] = raw["priority"] == level
    out[:, 8], out[:, 9], out[:, 10] = raw["overdue"], raw["due_soon"], raw["has_due"]
    task_terms = np.stack([prio, raw["overdue"], age_log, raw["due_soon"]], axis=1)
    out[:, 11:] = (task_terms[:, :, None] * np.array([h_sin, h_cos, weekend])).reshape(n, 12)
    return FeatureMatrix(_IMPROVED_NAMES, out)


@dataclass(frozen=True, slots=True)
class Encoder:
    """A named, versioned feature encoding.

    Examples:
        >>> get_encoder("improved@1").feature_names[:3]
        ('bias', 'age_log', 'hour_sin')
    """

    name: str
    version: int
    feature_names: tuple[str, ...]
    encode: Callable[[TaskView, Context], dict[str, float]]
    encode_batch: Callable[[Sequence[TaskView] | TaskBatch, Context], FeatureMatrix]

    @property
    def key(self) -> str:
        """Registry key, `name@version`."""
        return f"{self.name}@{self.version}"


TEXTBOOK = Encoder("textbook", 1, TEXTBOOK_NAMES, textbook, _textbook_batch)
IMPROVED = Encoder("improved", 1, _IMPROVED_NAMES, improved, _improved_batch)
#: Every encoder by key; `oo.recommender.features_evening` registers `improved@2` on import
#: (the package imports it, so it is always there).
ENCODERS: dict[str, Encoder] = {e.key: e for e in (TEXTBOOK, IMPROVED)}


def get_encoder(key: str) -> Encoder:
    """Return the encoder registered as `name@version`.

    Raises:
        KeyError: For an unknown key.
    """
    try:
        return ENCODERS[key]
    except KeyError:
        raise KeyError(f"unknown encoder {key!r}; known: {sorted(ENCODERS)}") from None
