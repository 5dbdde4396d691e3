"""When a push may go out: quiet hours in the user's time zone, the local day for the daily cap.

Pure functions (no I/O), so the decide-and-deliver job stays small and these rules are easy to test
across midnight and DST changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from oo.timezones import zone

_WINDOW = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


class QuietHoursError(ValueError):
    """A quiet-hours value that is not ``H-H`` with hours 0..23."""


def parse_quiet_hours(text: str | None) -> tuple[int, int] | None:
    """``"22-8"`` → ``(22, 8)``; empty or ``"none"`` → None (no quiet hours).

    Examples:
        >>> parse_quiet_hours("22-8"), parse_quiet_hours(""), parse_quiet_hours(" 0 - 7 ")
        ((22, 8), None, (0, 7))
        >>> parse_quiet_hours("25-3")
        Traceback (most recent call last):
        ...
        oo.services.push.rules.QuietHoursError: quiet hours must look like 22-8 (hours 0 to 23)
    """
    if text is None or not text.strip() or text.strip().lower() == "none":
        return None
    match = _WINDOW.match(text)
    if not match or not all(0 <= int(h) <= 23 for h in match.groups()):
        raise QuietHoursError("quiet hours must look like 22-8 (hours 0 to 23)")
    start, end = int(match[1]), int(match[2])
    return None if start == end else (start, end)


def is_quiet(now: datetime, window: tuple[int, int] | None, tz: str | None) -> bool:
    """True when ``now`` (aware) falls in the quiet window in the user's local time.

    Examples:
        >>> from datetime import UTC
        >>> late = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
        >>> is_quiet(late, (22, 8), "Europe/Berlin"), is_quiet(late, (22, 8), "America/New_York")
        (True, False)
        >>> is_quiet(late, None, "Europe/Berlin")
        False
    """
    if window is None:
        return False
    hour = now.astimezone(zone(tz)).hour
    start, end = window
    return start <= hour < end if start < end else hour >= start or hour < end


def local_day_start(now: datetime, tz: str | None) -> datetime:
    """The start of the user's local calendar day, as an aware UTC instant (DST-safe).

    Examples:
        >>> from datetime import UTC
        >>> local_day_start(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin").isoformat()
        '2026-03-28T23:00:00+00:00'
    """
    z = zone(tz)
    local = now.astimezone(z)
    return datetime.combine(local.date(), time(0), tzinfo=z).astimezone(UTC)
