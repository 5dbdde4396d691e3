"""The candidates of one pick: the user's open tasks as `TaskView`s, read fast.

A pick over 1,000 open tasks must cost a few milliseconds end to end. SQLAlchemy's per-value
type processing (the UTC datetime columns) took ~3 ms for 1,000 rows on SQLite, and building
1,000 `TaskView` objects ~2 ms more. So the five columns the encoders need are read *raw*
(`type_coerce` to `NullType`: still a parameterized SQLAlchemy query, no result processing),
parsed column-wise with numpy (SQLite returns ISO strings, Postgres date/datetime objects),
and handed to the encoders as a `TaskBatch`. The task text is read only for the picked task.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from oo.models import Task, User, UTCDateTime
from oo.recommender import TaskBatch
from oo.timezones import zone

log = logging.getLogger("oo.candidates")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EMPTY = TaskBatch((), *(np.empty(0) for _ in range(4)))


@dataclass(frozen=True)
class TaskText:
    """What the page and the API show of the picked task."""

    id: int
    content: str
    source: str
    external_id: str
    url: str | None


def _raw(column: object) -> sa.ColumnElement:
    return sa.type_coerce(column, sa.types.NullType())


def _seconds(values: Sequence[object]) -> np.ndarray:
    """POSIX seconds of UTC datetimes (SQLite ISO strings or datetime objects), NaN for None."""
    if isinstance(_first(values), str | None):
        # C-speed ISO parsing; "NaT" strings, because None takes numpy's slow object path.
        stamps = np.array([v or "NaT" for v in values], dtype="datetime64[us]")
        out = stamps.astype(np.int64) / 1e6
        out[np.isnat(stamps)] = np.nan
        return out
    return np.array([_aware(v).timestamp() if v is not None else np.nan for v in values], dtype=np.float64)


def _ordinals(values: Sequence[object]) -> np.ndarray:
    """Proleptic ordinals of dates (ISO strings or date objects), NaN for None."""
    if isinstance(_first(values), str | None):
        try:
            days = np.array([v or "NaT" for v in values], dtype="datetime64[D]")  # stored as YYYY-MM-DD
        except ValueError:
            days = np.array([str(v)[:10] if v else "NaT" for v in values], dtype="datetime64[D]")
        out = days.astype(np.int64).astype(np.float64) + _EPOCH_ORDINAL
        out[np.isnat(days)] = np.nan
        return out
    return np.array([_day(v).toordinal() if v is not None else np.nan for v in values], dtype=np.float64)


def _first(values: Sequence[object]) -> object:
    """The first non-None value: a column holds one type (str on SQLite, date/datetime elsewhere)."""
    return next((v for v in values if v is not None), None)


def _aware(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_USER_ZONE = select(User.timezone).where(User.id == sa.bindparam("user_id"))


def user_zone_name(*, session: Session, user_id: int) -> str | None:
    """The time zone name stored on the user (``User.timezone``), unchecked."""
    return session.connection().execute(_USER_ZONE, {"user_id": user_id}).scalar()


def user_zone(*, session: Session, user_id: int) -> tzinfo:
    """The time zone stored on the user (``User.timezone``)."""
    return zone(session.connection().execute(_USER_ZONE, {"user_id": user_id}).scalar())


_OPEN_TASKS = sa.select(
    _raw(Task.id),
    _raw(Task.priority),
    _raw(Task.added_at),
    _raw(Task.due_at),
    _raw(Task.due_date),
    _raw(Task.length_minutes),
).where(
    col(Task.user_id) == sa.bindparam("user_id"),
    col(Task.completed_at).is_(None),
    or_(
        col(Task.snoozed_until).is_(None), col(Task.snoozed_until) <= sa.bindparam("now", type_=UTCDateTime())
    ),
)


def load(
    *, session: Session, user_id: int, now: datetime, exclude: Collection[int] = ()
) -> tuple[list[int], TaskBatch]:
    """Open tasks that are not snoozed (or dismissed) right now, as ids and a `TaskBatch`.

    A task with an out-of-range priority is clamped to 1..4, and one without a creation
    time counts as new, rather than being dropped: it is still the user's task.
    """
    # Core, not the ORM: no per-row processing; the statement is built once.
    rows = session.connection().execute(_OPEN_TASKS, {"user_id": user_id, "now": now}).all()
    if exclude:
        skip = set(exclude)
        rows = [r for r in rows if r[0] not in skip]
    if not rows:
        return [], _EMPTY
    ids, priority, added_at, due_at, due_date, length = zip(*rows, strict=True)
    added = _seconds(added_at)
    added[np.isnan(added)] = now.timestamp()
    batch = TaskBatch(
        tuple(map(str, ids)),
        np.clip(np.nan_to_num(np.array(priority, dtype=np.float64), nan=1.0), 1.0, 4.0).round(),
        added,
        _seconds(due_at),
        _ordinals(due_date),
        np.array([np.nan if v is None else v for v in length], dtype=np.float64),
    )
    return [int(i) for i in ids], batch


_TEXT = sa.select(col(Task.content), col(Task.source), col(Task.external_id), col(Task.url)).where(
    col(Task.id) == sa.bindparam("task_id"), col(Task.user_id) == sa.bindparam("user_id")
)


def text_of(*, session: Session, user_id: int, task_id: int) -> TaskText | None:
    """The picked task's text and source reference."""
    row = session.connection().execute(_TEXT, {"task_id": task_id, "user_id": user_id}).first()
    return TaskText(task_id, *row) if row else None
