"""Overview (A3): how many people use oO, how many tips it serves, what they do with them.

Every figure comes from `oo.services.admin.metrics`, where its definition is written down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from oo.models import utcnow
from oo.services.admin import metrics
from oo.services.admin.portable_sql import utc_days

SERIES_DAYS = 14
FUNNEL_DAYS = 30


@dataclass(frozen=True)
class Overview:
    """The overview page's numbers."""

    kpis: dict[str, int] = field(default_factory=dict)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)


def series_start(now: datetime, days: int = SERIES_DAYS) -> datetime:
    """The UTC midnight that starts the daily series of the last ``days`` days."""
    return (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)


def daily(
    *, session: Session, days: int = SERIES_DAYS, active: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Per UTC day of the last ``days`` (every one, today last): tips served and active users.

    Both as defined in `metrics`. ``active`` is `metrics.daily_active` over the same days when
    the caller already has it.
    """
    now = utcnow()
    since = series_start(now, days)
    tips = metrics.daily_tips(session=session, since=since)
    if active is None:
        active = metrics.daily_active(session=session, since=since)
    # Every day of the window up to today, the quiet ones as zeros: a gap in the line is a day.
    return [
        {"day": d, "tips served": tips.get(d, 0), "active users": active.get(d, 0)}
        for d, _, _ in utc_days(since, now=now)
    ]


def overview(*, session: Session) -> Overview:
    """Everything the overview page shows."""
    now = utcnow()
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    # One pass over the series' days gives the daily line, DAU and WAU (all inside it).
    active, (dau, wau) = metrics.activity(session=session, since=series_start(now), marks=(day_ago, week_ago))
    kpis = {
        "dau": dau,
        "wau": wau,
        "tips_24h": metrics.tips_served(session=session, since=day_ago),
        "tips_7d": metrics.tips_served(session=session, since=week_ago),
        "users": metrics.signups(session=session),
        "new_users_7d": metrics.signups(session=session, since=week_ago),
        "deleted_7d": metrics.deletions(session=session, since=week_ago),
    }
    reactions = metrics.reaction_counts(session=session, since=week_ago)
    return Overview(
        kpis=kpis,
        reactions=[{"reaction": r, "count": n} for r, n in sorted(reactions.items(), key=lambda kv: -kv[1])],
        funnel=metrics.funnel(session=session, since=now - timedelta(days=FUNNEL_DAYS)),
        daily=daily(session=session, active=active),
    )
