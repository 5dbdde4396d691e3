"""Time zones by IANA name, with one rule for names this system does not know: UTC, never an error.

A user's zone comes from their sources (Todoist's ``/user``) or their browser; a name the system's
zone database lacks must not fail a pick, a push round or a sync, so it reads as UTC (logged once
per name).

Examples:
    >>> zone("Europe/Paris").key, zone("Mars/Olympus").key, zone(None).key
    ('Europe/Paris', 'UTC', 'UTC')
"""

from __future__ import annotations

import logging
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("oo.timezones")
UTC_ZONE = ZoneInfo("UTC")


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The named zone; UTC for an empty or unknown name."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using UTC", name)
        return UTC_ZONE
