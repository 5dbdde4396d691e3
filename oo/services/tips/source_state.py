"""What /tip must say about the user's sources, and whether their cached Todoist tasks are stale.

Read on every tip (a pick and a reshow alike), so as one prebuilt Core statement; `read_many`
answers for several users at once (the batched reshow check, `reshow.check`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from oo.models import TODOIST, Integration, utcnow
from oo.services.sources.todoist import sync as todoist_sync

NEEDS_RECONNECT = "needs_reconnect"


@dataclass(frozen=True)
class SourceState:
    """What /tip must say about the user's sources."""

    has_source: bool
    needs_reconnect: bool
    # The rows it was read from, (provider, status, last sync), for the pick's frozen facts (None: not read).
    integrations: tuple[tuple[str, str, datetime | None], ...] | None = field(
        default=None, compare=False, repr=False
    )


_ROWS = sa.select(
    col(Integration.user_id),
    col(Integration.provider),
    col(Integration.status),
    col(Integration.last_sync_at),
)
_ONE = _ROWS.where(col(Integration.user_id) == sa.bindparam("user_id"))
_MANY = _ROWS.where(col(Integration.user_id).in_(sa.bindparam("user_ids", expanding=True)))


def read(session: Session, user_id: int) -> tuple[SourceState, bool]:
    """The source state, and whether a connected Todoist's cached tasks are stale (one query)."""
    rows = session.connection().execute(_ONE, {"user_id": user_id}).all()
    return _state([tuple(r) for r in rows], utcnow())


def read_many(session: Session, user_ids: Collection[int]) -> dict[int, tuple[SourceState, bool]]:
    """`read` for several users in one query."""
    by_user: dict[int, list[tuple[Any, ...]]] = {uid: [] for uid in user_ids}
    for row in session.connection().execute(_MANY, {"user_ids": list(by_user)}):
        by_user[row[0]].append(tuple(row))
    now = utcnow()
    return {uid: _state(rows, now) for uid, rows in by_user.items()}


def _state(rows: Collection[tuple[Any, ...]], now: datetime) -> tuple[SourceState, bool]:
    max_age = timedelta(seconds=todoist_sync.STALE_SECONDS)
    stale = any(
        p == TODOIST and s == "connected" and (t is None or now - t >= max_age) for _, p, s, t in rows
    )
    statuses = [s for _, p, s, _ in rows if p != "google_calendar"]  # a calendar is not a task source
    state = SourceState(
        has_source=bool(statuses),
        needs_reconnect=NEEDS_RECONNECT in statuses,
        integrations=tuple((p, s, t) for _, p, s, t in rows),
    )
    return state, stale
