"""The inputs of an encoder: the moment of asking (`Context`), one task (`TaskView`), many (`TaskBatch`).

`oo.recommender.features` turns them into the feature dicts and matrices a policy sees (and
re-exports these classes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import numpy as np

T = TypeVar("T")
_MISSING = object()
_MEMO_SIZE = 8  # one pick's encoders keep 3 parts (the columns, improved@1, improved@2)

_DAY = 86_400.0
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
        >>> from oo.recommender import IMPROVED
        >>> IMPROVED.encode_batch(batch, ctx).row(0) == IMPROVED.encode(t, ctx)
        True
    """

    task_ids: tuple[str, ...]
    priority: np.ndarray
    added_at: np.ndarray
    due_at: np.ndarray
    due_date: np.ndarray
    minutes: np.ndarray | None = None
    # What the encoders of one pick computed from this batch (they build on each other): `memo`.
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
        """``make()`` once per ``key`` for this batch (shared by the encoders of one pick: read only)."""
        value = self._memo.get(key, _MISSING)  # one read: another thread may clear meanwhile
        if value is _MISSING:
            if len(self._memo) >= _MEMO_SIZE:  # a batch kept across moments (a shared empty one)
                self._memo.clear()
            value = self._memo[key] = make()
        return value  # type: ignore[return-value]

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
