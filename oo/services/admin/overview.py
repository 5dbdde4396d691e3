"""Overview (A3): how many people use oO, how many tips it serves, what they do with them.

Active means a person saw a tip on the web or through the API, or reacted to one (a push that
nobody opened does not make a user active).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import Integration, TipFeedback, TipView, User, utcnow
from oo.services.admin.portable_sql import day_of

SERIES_DAYS = 14


@dataclass(frozen=True)
class Overview:
    """The overview page's numbers."""

    kpis: dict[str, int] = field(default_factory=dict)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)


def active_users(*, session: Session, since: Any) -> int:
    """Distinct users who saw a tip (web/API) or reacted since ``since``."""
    seen = select(TipView.user_id).where(col(TipView.served_at) >= since, TipView.channel != "push")
    reacted = select(TipFeedback.user_id).where(
        col(TipFeedback.created_at) >= since,
        TipFeedback.origin != "signal",  # not an ignored tip
    )
    union = sa.union(seen, reacted).subquery()
    return int(session.exec(select(sa.func.count()).select_from(union)).one())


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(stmt).one() or 0)


def funnel(*, session: Session) -> list[dict[str, Any]]:
    """Signed up → connected a source → got a first tip → reacted for the first time."""
    live = col(User.deleted_at).is_(None)
    steps = [
        ("signed up", select(sa.func.count()).select_from(User).where(live)),
        ("connected", select(sa.func.count(sa.distinct(col(Integration.user_id))))),
        ("first tip", select(sa.func.count(sa.distinct(col(TipView.user_id))))),
        (
            "first reaction",
            select(sa.func.count(sa.distinct(col(TipFeedback.user_id)))).where(
                col(TipFeedback.origin) != "signal"
            ),
        ),
    ]
    return [{"step": name, "users": _count(session, stmt)} for name, stmt in steps]


def daily(*, session: Session, days: int = SERIES_DAYS) -> list[dict[str, Any]]:
    """Per UTC day: tips served and distinct users served."""
    since = (utcnow() - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = day_of(TipView.served_at).label("day")
    rows = session.exec(
        select(day, sa.func.count(), sa.func.count(sa.distinct(col(TipView.user_id))))
        .where(col(TipView.served_at) >= since)
        .group_by(day)
        .order_by(day)
    ).all()
    return [{"day": d, "tips": tips, "users": users} for d, tips, users in rows]


def overview(*, session: Session) -> Overview:
    """Everything the overview page shows."""
    now = utcnow()
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    tips = select(sa.func.count()).select_from(TipView)
    kpis = {
        "dau": active_users(session=session, since=day_ago),
        "wau": active_users(session=session, since=week_ago),
        "tips_24h": _count(session, tips.where(col(TipView.served_at) >= day_ago)),
        "tips_7d": _count(session, tips.where(col(TipView.served_at) >= week_ago)),
        "users": _count(
            session, select(sa.func.count()).select_from(User).where(col(User.deleted_at).is_(None))
        ),
        "new_users_7d": _count(
            session, select(sa.func.count()).select_from(User).where(col(User.created_at) >= week_ago)
        ),
    }
    reactions = session.exec(
        select(TipFeedback.reaction, sa.func.count())
        .where(col(TipFeedback.created_at) >= week_ago)
        .group_by(TipFeedback.reaction)
        .order_by(sa.func.count().desc())
    ).all()
    return Overview(
        kpis=kpis,
        reactions=[{"reaction": r, "count": n} for r, n in reactions],
        funnel=funnel(session=session),
        daily=daily(session=session),
    )
