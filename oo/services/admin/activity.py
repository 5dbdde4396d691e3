"""Who was active when: the raw activity rows of the Active user definition, and their daily rollup.

An active user (see `metrics.GLOSSARY`) saw a tip in the app or reacted to one themselves. Counting
them over weeks means grouping every such event of the window, which grows with traffic; so each
UTC day, once it is over, is grouped once into `ActiveDay` (one row per person and day, with the
day's last activity) and later reads take those rows instead of the day's events. Days that are not
over yet (and the `GRACE` after midnight, while the last writes land) are read from the events.

`rows` gives ``(user_id, day, at)`` for a window, the same for both halves, so a caller groups
them once: ``at`` is an event's time, or for a rolled day the day's last activity — "active since
t" stays ``max(at) >= t``. A rolled day is final: account deletion removes the person's rows
(`ActiveDay` is keyed by the user), and nothing else writes activity into the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from oo.models import ActiveDay, ActiveDayRollup, TipFeedback, TipView, User, table, utcnow
from oo.services.admin.portable_sql import day_of

SEEN_CHANNELS = ("web", "api")
ACTIVE_ORIGIN = "user"
GRACE = timedelta(minutes=10)  # a day is rolled up this long after it ends (late writes land first)
ROLL_DAYS = 35  # the hourly job keeps this many days rolled (the console's longest window is 30 days)


def _midnight(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _range(column: Any, since: datetime, until: datetime | None) -> list[Any]:
    return [column >= since] if until is None else [column >= since, column < until]


def events(since: datetime, until: datetime | None) -> list[Any]:
    """``(user_id, day, at)`` selects of the activity events in ``[since, until)``: tips seen, own reactions.

    A list to join into one flat UNION ALL (SQLite does not nest compound selects).
    """
    seen: Any = sa.select(
        col(TipView.user_id).label("user_id"),
        day_of(TipView.served_at).label("day"),
        col(TipView.served_at).label("at"),
    ).where(*_range(col(TipView.served_at), since, until), col(TipView.channel).in_(SEEN_CHANNELS))
    reacted: Any = sa.select(
        col(TipFeedback.user_id).label("user_id"),
        day_of(TipFeedback.created_at).label("day"),
        col(TipFeedback.created_at).label("at"),
    ).where(*_range(col(TipFeedback.created_at), since, until), col(TipFeedback.origin) == ACTIVE_ORIGIN)
    return [seen, reacted]


def rolled_span(since: datetime, until: datetime | None, now: datetime) -> tuple[datetime, datetime] | None:
    """The whole UTC days ``[first, end)`` of the window that the rollup answers (None: none).

    They start at ``since``'s day (its rows are filtered by ``last_at >= since``) and end at the
    last midnight that is both ``GRACE`` in the past and not after ``until``.
    """
    first = _midnight(since)
    limit = now - GRACE if until is None else min(until, now - GRACE)
    end = _midnight(limit)
    return (first, end) if end > first else None


def _days(first: datetime, end: datetime) -> list[str]:
    return [(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((end - first).days)]


def ensure_rolled(session: Session, first: datetime, end: datetime) -> int:
    """Roll up the days of ``[first, end)`` not rolled yet; returns how many this call rolled.

    Per day, the marker is inserted first (ON CONFLICT DO NOTHING) and only the call that inserted
    it groups the day, in the same transaction, so two workers never roll a day twice.
    """
    days = _days(first, end)
    done = set(
        session.connection()
        .execute(sa.select(col(ActiveDayRollup.day)).where(col(ActiveDayRollup.day).in_(days)))
        .scalars()
    )
    missing = [d for d in days if d not in done]
    if not missing:
        return 0
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rolled = 0
    for day in missing:
        lo = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
        marker = insert(table(ActiveDayRollup)).on_conflict_do_nothing(index_elements=["day"])
        if (
            conn.execute(
                marker.returning(col(ActiveDayRollup.day)), {"day": day, "rolled_at": utcnow()}
            ).first()
            is None
        ):
            continue  # another worker has it (rowcount is not reliable here: -1 on psycopg)
        ev = sa.union_all(*events(lo, lo + timedelta(days=1))).subquery()
        grouped = sa.select(ev.c.day, ev.c.user_id, sa.func.max(ev.c.at)).group_by(ev.c.day, ev.c.user_id)
        conn.execute(sa.insert(table(ActiveDay)).from_select(["day", "user_id", "last_at"], grouped))
        rolled += 1
    session.commit()
    return rolled


def roll_recent(*, session: Session, now: datetime | None = None, days: int = ROLL_DAYS) -> int:
    """Roll up the days of the last ``days`` that are over and not rolled yet (the hourly job).

    It also deletes any rolled day of a deleted account: a rollup that read a person's events
    just before their account was deleted could commit its row just after the deletion's.
    """
    now = now or utcnow()
    span = rolled_span(_midnight(now) - timedelta(days=days), None, now)
    rolled = ensure_rolled(session, *span) if span else 0
    gone = sa.select(col(User.id)).where(col(User.deleted_at).is_not(None))
    session.connection().execute(sa.delete(table(ActiveDay)).where(col(ActiveDay.user_id).in_(gone)))
    session.commit()
    return rolled


def rows(session: Session, since: datetime, until: datetime | None, now: datetime | None = None) -> Any:
    """``(user_id, day, at)`` rows of the window (a UNION ALL): rolled days from `ActiveDay`, the rest live."""
    span = rolled_span(since, until, now or utcnow())
    if span is None:
        return sa.union_all(*events(since, until))
    first, end = span
    ensure_rolled(session, first, end)
    rolled: Any = sa.select(
        col(ActiveDay.user_id).label("user_id"),
        col(ActiveDay.day).label("day"),
        col(ActiveDay.last_at).label("at"),
    ).where(
        col(ActiveDay.day) >= first.strftime("%Y-%m-%d"),
        col(ActiveDay.day) < end.strftime("%Y-%m-%d"),
        col(ActiveDay.last_at) >= since,
    )
    live_since = max(since, end)
    if until is not None and live_since >= until:
        return rolled
    return sa.union_all(rolled, *events(live_since, until))
