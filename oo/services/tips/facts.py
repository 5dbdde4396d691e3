"""Facts about a pick frozen into the tip log at serve time, for the console's slices and data quality.

A tip's slices must not depend on what happens later (a completed Todoist task is deleted from
the cache at the next sync; a user may move to another time zone), so `recommend` stores, on the
``tip_view`` row itself:

- ``task_priority``: the task's priority as the API gave it (1..4, 4 = Todoist's p1, the most urgent);
- ``local_hour``: the hour of the day in the user's own time zone when the tip was served;
- ``imputed``: which inputs of the pick had to be defaulted, comma-separated from `REASONS`:
  ``no_due`` (the served task has no due date, so the due features are their defaults),
  ``unknown_tz`` (the user's time zone is empty or unknown, so UTC stood in for it), and
  ``stale_source`` (the task's source needs a reconnect or has not synced for `STALE_AFTER`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import DEMO, Integration
from oo.timezones import UTC_ZONE, zone

NO_DUE, UNKNOWN_TZ, STALE_SOURCE = "no_due", "unknown_tz", "stale_source"
REASONS = (NO_DUE, UNKNOWN_TZ, STALE_SOURCE)
STALE_AFTER = timedelta(hours=24)
LOCAL_SOURCES = (DEMO,)  # built-in sources have no token to go stale

_SOURCE = select(Integration.status, Integration.last_sync_at).where(
    col(Integration.user_id) == sa.bindparam("user_id"), col(Integration.provider) == sa.bindparam("source")
)


def zone_known(name: str | None) -> bool:
    """Whether ``name`` is a time zone oO can use (else UTC stands in for it).

    Examples:
        >>> zone_known("Pacific/Kiritimati"), zone_known(""), zone_known("Mars/Olympus")
        (True, False, False)
    """
    return bool(name) and (name == "UTC" or zone(name) is not UTC_ZONE)


def source_stale(
    *,
    session: Session,
    user_id: int,
    source: str,
    now: datetime,
    integrations: Iterable[tuple[str, str, datetime | None]] | None = None,
) -> bool:
    """Whether the user's ``source`` needs a reconnect or has not synced for `STALE_AFTER`.

    ``integrations``: the user's (provider, status, last sync) rows when the request has read them
    already (`oo.services.tips.source_state`); else they are read here.
    """
    if not source or source in LOCAL_SOURCES:
        return False
    if integrations is not None:
        row = next(((status, at) for provider, status, at in integrations if provider == source), None)
    else:
        row = session.connection().execute(_SOURCE, {"user_id": user_id, "source": source}).first()
    if row is None:
        return True
    status, last_sync = row
    if status != "connected" or not isinstance(last_sync, datetime):
        return True
    return last_sync < now - STALE_AFTER


def imputed(*, has_due: bool, zone_ok: bool, stale: bool) -> str:
    """The ``imputed`` column's value.

    Examples:
        >>> imputed(has_due=False, zone_ok=False, stale=True)
        'no_due,unknown_tz,stale_source'
        >>> imputed(has_due=True, zone_ok=True, stale=False)
        ''
    """
    flags = ((NO_DUE, not has_due), (UNKNOWN_TZ, not zone_ok), (STALE_SOURCE, stale))
    return ",".join(name for name, on in flags if on)
