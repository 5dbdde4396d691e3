"""The console's metric definitions: each figure is computed here, by one function every page uses.

`GLOSSARY` holds the written definition of each figure (the console's Glossary page and
``admin/README.md`` show the same words); the functions below implement exactly that:

- **Active user** (`active_users`, `daily_active`): a person who saw a tip in the app (a tip
  served on the ``web`` or ``api`` channel) or reacted to one themselves (a ``tip_feedback`` row of
  origin ``user``: the buttons, the API, a notification's action). A push that reached a device
  counts once it is opened (opening it shows the tip in the app, or its action is a reaction);
  a failed push (``push_failed``), a delayed reward from a webhook and an admin action do not.
- **Tips served** (`tips_served`, `daily_tips`): tips shown on the web or API plus pushes that
  reached at least one device; failed pushes are not served.
- **Sign-ups** (`signups`): accounts created in the window that are not deleted; deleted
  accounts are never counted as sign-ups anywhere, and `deletions` counts them on their own.
- **Reactions** (`reaction_counts`): the first reaction to each tip served in the window
  (``tip_view.reaction``), whatever its origin; ignored tips are no reaction. Later reactions to
  the same tip are stored but not counted. Rewards (`oo.recommender.REWARDS`) are the rewards of
  those same reactions, so the Overview, Rewards and Experiments pages count alike.

Windows are ``[since, until)`` in UTC; days are UTC days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import Integration, TipFeedback, TipView, User
from oo.services.admin.activity import ACTIVE_ORIGIN
from oo.services.admin.activity import rows as activity_rows
from oo.services.admin.portable_sql import utc_days

SERVED_CHANNELS = ("web", "api", "push")
DAYS_PER_STATEMENT = 100  # per-day range counts per UNION ALL (SQLite allows 500 compound terms)

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Active user",
        "A person who saw a tip in the app (web or API) or reacted to one themselves (button, API or "
        "a notification's action). A push counts once it is opened; a failed push, a delayed reward "
        "from a webhook and an admin action do not make anyone active. DAU: the last 24 hours; WAU: "
        "the last 7 days; per day: UTC days.",
    ),
    (
        "Tips served",
        "Tips shown on the web or through the API, plus pushes that reached at least one device. "
        "Failed pushes are not served tips.",
    ),
    (
        "Sign-ups",
        "Accounts created in the window that still exist. Deleted accounts are never counted as "
        "sign-ups, on any page; they are shown as Deletions (accounts deleted in the window).",
    ),
    (
        "Reaction",
        "The first reaction to a tip served in the window, whatever its origin (button, API, "
        "notification action or the delayed reward when the task was completed at its source); "
        "an ignored tip (no reaction at all) is not a reaction. Later reactions to the same tip are "
        "stored, and a later Done is still learned, but they are not counted here. Every page "
        "counts reactions this way.",
    ),
    (
        "Reward",
        "The reward of a tip's first reaction: done +1, helpful +0.5, snooze 0, not helpful -0.5, "
        "dismiss -1. Means are per reacted tip; intervals resample users (a 95 % bootstrap over "
        "people, clipped to -1..1) and are shown only from 10 rewards on.",
    ),
    (
        "Activation funnel",
        "People who signed up in the last 30 days (not deleted) → of them, who ever connected a "
        "source (a connection now, or a tip from one) → got a first tip → reacted themselves.",
    ),
)


def _window(column: Any, since: datetime, until: datetime | None) -> list[Any]:
    return [column >= since] if until is None else [column >= since, column < until]


def _activity(
    session: Session, since: datetime, until: datetime | None, marks: Sequence[datetime] = ()
) -> tuple[dict[str, int], list[int]]:
    """UTC day → distinct active users, and distinct active users since each mark (see `GLOSSARY`).

    The active user-days of the window are grouped once (a CTE) and counted per day and per
    mark in the same statement, so only the counts leave the database. Days that are over come
    from the daily rollup (`activity`), so the cost follows people per day, not events.
    """
    union = activity_rows(session, since, until).subquery()
    flags = [sa.func.max(sa.case((union.c.at >= m, 1), else_=0)).label(f"f{i}") for i, m in enumerate(marks)]
    days = (
        sa.select(union.c.user_id, union.c.day, *flags)
        .group_by(union.c.user_id, union.c.day)
        .cte("active_days")
    )
    parts: list[Any] = [sa.select(days.c.day, sa.func.count()).group_by(days.c.day)]
    parts += [
        sa.select(sa.literal(f"#{i}", sa.String()), sa.func.count(sa.distinct(days.c.user_id))).where(
            days.c[f"f{i}"] == 1
        )
        for i in range(len(marks))
    ]
    rows: Any = session.connection().execute(sa.union_all(*parts)).all()
    found = {str(k): int(n) for k, n in rows}
    daily = {k: n for k, n in found.items() if not k.startswith("#")}
    return daily, [found.get(f"#{i}", 0) for i in range(len(marks))]


def active_users(*, session: Session, since: datetime, until: datetime | None = None) -> int:
    """Distinct active users (see `GLOSSARY`) in ``[since, until)``."""
    return _activity(session, since, until, (since,))[1][0]


def daily_active(*, session: Session, since: datetime, until: datetime | None = None) -> dict[str, int]:
    """UTC day → distinct active users that day."""
    return _activity(session, since, until)[0]


def activity(
    *, session: Session, since: datetime, marks: Sequence[datetime] = ()
) -> tuple[dict[str, int], list[int]]:
    """`daily_active` since ``since`` and `active_users` since each of ``marks``, in one statement.

    Raises:
        ValueError: A mark before ``since`` (its users would not all be in the pass).
    """
    if any(m < since for m in marks):
        raise ValueError("every mark must be at or after since")
    return _activity(session, since, None, marks)


def tips_served(*, session: Session, since: datetime, until: datetime | None = None) -> int:
    """Tips served (see `GLOSSARY`) in ``[since, until)``."""
    stmt = select(sa.func.count()).select_from(TipView)
    stmt = stmt.where(
        *_window(col(TipView.served_at), since, until), col(TipView.channel).in_(SERVED_CHANNELS)
    )
    return int(session.exec(stmt).one())


def daily_tips(*, session: Session, since: datetime, until: datetime | None = None) -> dict[str, int]:
    """UTC day → tips served that day (days without tips are left out)."""
    parts = [
        select(sa.literal(day, sa.String()).label("day"), sa.func.count().label("n"))
        .select_from(TipView)
        .where(*_window(col(TipView.served_at), lo, hi), col(TipView.channel).in_(SERVED_CHANNELS))
        for day, lo, hi in utc_days(since, until)
    ]
    rows: list[Any] = []
    for i in range(0, len(parts), DAYS_PER_STATEMENT):
        rows += session.execute(sa.union_all(*parts[i : i + DAYS_PER_STATEMENT])).all()
    return {str(d): int(n) for d, n in rows if n}


def signups(*, session: Session, since: datetime | None = None, until: datetime | None = None) -> int:
    """Accounts created in ``[since, until)`` (all time without ``since``) that are not deleted."""
    stmt = select(sa.func.count()).select_from(User).where(col(User.deleted_at).is_(None))
    if since is not None:
        stmt = stmt.where(*_window(col(User.created_at), since, until))
    return int(session.exec(stmt).one())


def deletions(*, session: Session, since: datetime | None = None, until: datetime | None = None) -> int:
    """Accounts deleted in ``[since, until)`` (all time without ``since``)."""
    stmt = select(sa.func.count()).select_from(User).where(col(User.deleted_at).is_not(None))
    if since is not None:
        stmt = stmt.where(*_window(col(User.deleted_at), since, until))
    return int(session.exec(stmt).one())


def reaction_counts(*, session: Session, since: datetime, until: datetime | None = None) -> dict[str, int]:
    """Reaction → count of first reactions to the tips served in ``[since, until)``."""
    rows = session.exec(
        select(TipView.reaction, sa.func.count())
        .where(*_window(col(TipView.served_at), since, until), col(TipView.reaction).is_not(None))
        .group_by(TipView.reaction)
    ).all()
    return {str(r): int(n) for r, n in rows}


def funnel(*, session: Session, since: datetime) -> list[dict[str, Any]]:
    """The activation funnel of the people who signed up since ``since`` (not deleted).

    One pass over the cohort with an index probe per step and person (``EXISTS``), so the cost
    follows the cohort's size, not the size of the tip log.
    """
    uid = col(User.id)
    connected = sa.or_(
        sa.exists().where(col(Integration.user_id) == uid),
        sa.exists().where(col(TipView.user_id) == uid, col(TipView.task_id).is_not(None)),
    )
    first_tip = sa.exists().where(col(TipView.user_id) == uid, col(TipView.channel).in_(SERVED_CHANNELS))
    reacted = sa.exists().where(col(TipFeedback.user_id) == uid, col(TipFeedback.origin) == ACTIVE_ORIGIN)
    steps = {
        "signed up": sa.true(),
        "connected": connected,
        "first tip": first_tip,
        "first reaction": reacted,
    }
    row: Any = session.execute(
        sa.select(*(sa.func.count(sa.case((cond, 1))) for cond in steps.values())).where(
            col(User.deleted_at).is_(None), col(User.created_at) >= since
        )
    ).one()
    return [{"step": name, "users": int(n or 0)} for name, n in zip(steps, row, strict=True)]
