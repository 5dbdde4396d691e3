"""The calendar as a pick sees it: busy now, minutes free until the next busy block, or unknown.

The busy blocks live in one per-process cache (`cache`), filled by `oo.services.push.calendar`
(the push rounds read every subscribed user's calendar; entries expire after
``OO_GOOGLE_CALENDAR_CACHE_SECONDS``). A pick only *reads* the cache, so it never waits for Google
and never fails because of it: a miss, an expired entry, a user without a calendar or a calendar
that could not be read all give "unknown" (the `improved@3` calendar features are then zero). On a
miss the pick asks the registered refresher (`set_refresher`, wired at start-up) to read the
calendar in the background, so the user's next pick knows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger("oo.calendar_view")


class Block(Protocol):
    """A busy interval (aware datetimes)."""

    start: datetime
    end: datetime


#: user id -> (monotonic expiry, busy blocks or None for unknown / not connected).
cache: dict[int, tuple[float, list[Any] | None]] = {}
_refresher: Callable[[int], None] | None = None


def set_refresher(refresher: Callable[[int], None] | None) -> None:
    """Install (or remove, with None) what a cache miss calls to read a calendar in the background."""
    global _refresher
    _refresher = refresher


def moment(blocks: list[Any] | None, now: datetime) -> dict[str, Any]:
    """`Context` keyword arguments for busy ``blocks`` at ``now`` (None: the calendar is unknown).

    Examples:
        >>> from datetime import UTC, datetime, timedelta
        >>> from types import SimpleNamespace as B
        >>> now = datetime(2025, 1, 6, 10, tzinfo=UTC)
        >>> moment([B(start=now + timedelta(minutes=25), end=now + timedelta(hours=1))], now)
        {'calendar_known': True, 'busy_now': False, 'free_minutes': 25.0}
        >>> moment([B(start=now - timedelta(minutes=5), end=now + timedelta(minutes=30))], now)["busy_now"]
        True
        >>> moment([], now), moment(None, now)
        ({'calendar_known': True, 'busy_now': False, 'free_minutes': None}, {'calendar_known': False})
    """
    if blocks is None:
        return {"calendar_known": False}
    busy_now = any(b.start <= now < b.end for b in blocks)
    upcoming = [b.start for b in blocks if b.start > now]
    free = (min(upcoming) - now).total_seconds() / 60 if upcoming and not busy_now else None
    return {"calendar_known": True, "busy_now": busy_now, "free_minutes": free}


def read(user_id: int, now: datetime) -> dict[str, Any]:
    """The user's calendar moment from the cache, never blocking; unknown on a miss (see module)."""
    hit = cache.get(user_id)
    if hit is not None and hit[0] > time.monotonic():
        return moment(hit[1], now)
    refresher = _refresher
    if refresher is not None:
        try:
            refresher(user_id)
        except Exception:  # a background read that cannot start never stops a pick
            log.exception("could not start the calendar read of user %s", user_id)
    return {"calendar_known": False}
