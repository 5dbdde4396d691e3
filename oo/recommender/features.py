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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import numpy as np

from oo.recommender.base import FeatureMatrix

T = TypeVar("T")

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

_DAY = 86_400.0
_AGE_SCALE = math.log1p(30.0)  # a 30-day-old task has age_log == 1
_DUE_SOON = timedelta(hours=24)


def _require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class Context:
    """The moment of asking.

    Args:
        now: Current time, aware, in the user's time zone (hour and weekday are read from it).
        calendar_known: Whether the user's free/busy calendar was read (False: the rest is ignored).
        busy_now: A busy block covers `now`.
        free_minutes: Minutes from `now` to the next busy block; None when none is in sight
            (a long free stretch). Ignored while busy.
    """

    now: datetime
    calendar_known: bool = False
    busy_now: bool = False
    free_minutes: float | None = None

    def __post_init__(self) -> None:
        _require_aware(self.now, "Context.now")


@dataclass(frozen=True, slots=True)
class TaskView:
    """What the recommender may know about one open task.

    Args:
        task_id: Opaque id.
        priority: 1..4, where 4 is the most urgent (Todoist's API convention).
        added_at: When the task was created (aware).
        due_at: Deadline with a time (aware), if any.
        due_date: All-day deadline in the user's calendar, if any (ignored when `due_at` is set).
        minutes: How long the task takes, in minutes (`oo.recommender.task_length`), if known.

    Examples:
        >>> from datetime import UTC, date, datetime
        >>> t = TaskView("t1", 4, datetime(2025, 1, 1, tzinfo=UTC), due_date=date(2025, 1, 5))
        >>> t.is_overdue(datetime(2025, 1, 5, 22, tzinfo=UTC)), t.is_overdue(datetime(2025, 1, 6, tzinfo=UTC))
        (False, True)
    """

    task_id: str
    priority: int
    added_at: datetime
    due_at: datetime | None = None
    due_date: date | None = None
    minutes: float | None = None

    def __post_init__(self) -> None:
        if self.priority not in (1, 2, 3, 4):
            raise ValueError(f"priority must be 1..4, got {self.priority!r}")
        _require_aware(self.added_at, "TaskView.added_at")
        if self.due_at is not None:
            _require_aware(self.due_at, "TaskView.due_at")

    def age_days(self, now: datetime) -> float:
        """Days since the task was added; 0 for clock skew into the future."""
        return max(0.0, (now - self.added_at).total_seconds() / _DAY)

    def is_overdue(self, now: datetime) -> bool:
        """True once the deadline has passed (an all-day task is overdue the day after)."""
        if self.due_at is not None:
            return self.due_at < now
        return self.due_date is not None and self.due_date < now.date()

    def is_due_soon(self, now: datetime) -> bool:
        """True when not overdue and due within 24 h (all-day: due today or tomorrow)."""
        if self.due_at is not None:
            return now <= self.due_at < now + _DUE_SOON
        return self.due_date is not None and 0 <= (self.due_date - now.date()).days <= 1

    def has_due(self) -> bool:
        """True when the task has any deadline."""
        return self.due_at is not None or self.due_date is not None


@dataclass(frozen=True, slots=True)
class TaskBatch:
    """Many tasks as columns, the shape a database query returns: the fast input of `encode_batch`.

    Building thousands of `TaskView` objects costs more than scoring them, so services that
    read tasks in bulk pass columns instead. Times are POSIX seconds and dates proleptic
    ordinals (`date.toordinal`), NaN when absent; `columns` computes exactly what the
    `TaskView` methods compute, with numpy.

    Args:
        task_ids: Opaque ids, one per task.
        priority: 1..4 per task.
        added_at: Creation times, POSIX seconds.
        due_at: Deadlines with a time, POSIX seconds, NaN for none.
        due_date: All-day deadlines as ordinals, NaN for none (ignored where `due_at` is set).
        minutes: Task lengths in minutes, NaN for unknown; None when no task's length is known.

    Examples:
        >>> from datetime import UTC, datetime
        >>> t = TaskView("t1", 4, datetime(2025, 1, 1, tzinfo=UTC), due_date=date(2025, 1, 5))
        >>> batch = TaskBatch.from_views([t])
        >>> ctx = Context(datetime(2025, 1, 6, 9, tzinfo=UTC))
        >>> IMPROVED.encode_batch(batch, ctx).row(0) == IMPROVED.encode(t, ctx)
        True
    """

    task_ids: tuple[str, ...]
    priority: np.ndarray
    added_at: np.ndarray
    due_at: np.ndarray
    due_date: np.ndarray
    minutes: np.ndarray | None = None
    # What encoders computed from this batch (the columns at a moment, a shared encoding): the
    # encoders of one pick build on each other, so each part is computed once per pick.
    _memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.task_ids)
        for name in ("priority", "added_at", "due_at", "due_date", "minutes"):
            if (name != "minutes" or self.minutes is not None) and np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"TaskBatch.{name} must have shape ({n},)")
        if n and not np.isin(self.priority, (1.0, 2.0, 3.0, 4.0)).all():
            raise ValueError("TaskBatch.priority must be 1..4")
        if not np.isfinite(self.added_at).all():
            raise ValueError("TaskBatch.added_at must be finite")

    def __len__(self) -> int:
        return len(self.task_ids)

    @classmethod
    def from_views(cls, views: Sequence[TaskView]) -> TaskBatch:
        """The columns of a list of `TaskView`s."""
        nan = math.nan
        return cls(
            tuple(v.task_id for v in views),
            np.array([v.priority for v in views], dtype=np.float64),
            np.array([v.added_at.timestamp() for v in views], dtype=np.float64),
            np.array([v.due_at.timestamp() if v.due_at else nan for v in views], dtype=np.float64),
            np.array([v.due_date.toordinal() if v.due_date else nan for v in views], dtype=np.float64),
            np.array([nan if v.minutes is None else v.minutes for v in views], dtype=np.float64),
        )

    def view(self, i: int) -> TaskView:
        """Task `i` as a `TaskView` (UTC times)."""
        due_at, due_date = self.due_at[i], self.due_date[i]
        minutes = math.nan if self.minutes is None else float(self.minutes[i])
        return TaskView(
            self.task_ids[i],
            int(self.priority[i]),
            datetime.fromtimestamp(self.added_at[i], UTC),
            due_at=None if math.isnan(due_at) else datetime.fromtimestamp(due_at, UTC),
            due_date=None if math.isnan(due_date) else date.fromordinal(int(due_date)),
            minutes=None if math.isnan(minutes) else minutes,
        )

    def lengths(self) -> np.ndarray:
        """Task lengths in minutes, NaN where unknown."""
        return np.full(len(self), np.nan) if self.minutes is None else self.minutes

    def memo(self, key: object, make: Callable[[], T]) -> T:
        """``make()`` computed once per ``key`` for this batch; callers must not change the result.

        Examples:
            >>> batch = TaskBatch(("a",), np.ones(1), np.zeros(1), np.full(1, np.nan), np.full(1, np.nan))
            >>> batch.memo("k", lambda: [1]) is batch.memo("k", lambda: [2])
            True
        """
        try:
            return self._memo[key]  # type: ignore[return-value]
        except KeyError:
            value = self._memo[key] = make()
            return value

    def columns(self, now: datetime) -> dict[str, np.ndarray]:
        """Per-task raw columns at `now` (aware), as `TaskView`'s methods define them (computed once per moment)."""
        return self.memo(("columns", now), lambda: self._columns(now))

    def _columns(self, now: datetime) -> dict[str, np.ndarray]:
        ts, today = now.timestamp(), float(now.date().toordinal())
        timed = ~np.isnan(self.due_at)
        dated = ~timed & ~np.isnan(self.due_date)
        days = self.due_date - today
        with np.errstate(invalid="ignore"):  # NaN comparisons are False, as intended
            overdue = np.where(timed, self.due_at < ts, dated & (days < 0))
            soon = np.where(
                timed,
                (self.due_at >= ts) & (self.due_at < ts + _DUE_SOON.total_seconds()),
                dated & (days >= 0) & (days <= 1),
            )
        return {
            "priority": self.priority,
            "age": np.maximum(0.0, (ts - self.added_at) / _DAY),
            "overdue": overdue.astype(np.float64),
            "due_soon": soon.astype(np.float64),
            "has_due": (timed | dated).astype(np.float64),
        }


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
