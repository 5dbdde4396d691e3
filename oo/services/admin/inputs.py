"""What every admin service takes in: validated arguments, time windows, pages of rows, intervals.

Admin handlers receive whatever a client sends (Reflex does not enforce type hints), so every
admin service validates its own arguments with the `parse_*` helpers and raises `AdminInputError`
with a message fit to show. The SQL expressions that compile for both databases live in
`oo.services.admin.portable_sql`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oo.models import utcnow

MAX_PAGE_SIZE = 200
WINDOWS = {"1d": 1, "7d": 7, "30d": 30}
SAMPLE_TIPS = 6000


class AdminInputError(ValueError):
    """An admin request with a bad argument; the message is safe to show to the admin."""


@dataclass(frozen=True)
class Page:
    """One page of table rows, newest first; ``has_next`` is known without counting every row."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    page: int = 1
    page_size: int = 50
    has_next: bool = False

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.page_size


def parse_int(value: Any, name: str, *, lo: int = 1, hi: int = 2**31 - 1) -> int:
    """An integer argument within [lo, hi].

    Examples:
        >>> parse_int("42", "user id")
        42
        >>> parse_int("x", "user id")
        Traceback (most recent call last):
        ...
        oo.services.admin.inputs.AdminInputError: user id must be a whole number
    """
    if isinstance(value, bool):
        raise AdminInputError(f"{name} must be a whole number")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise AdminInputError(f"{name} must be a whole number") from None
    if not lo <= number <= hi:
        raise AdminInputError(f"{name} must be between {lo} and {hi}")
    return number


def parse_optional_int(value: Any, name: str) -> int | None:
    """An optional positive integer filter: blank means no filter."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_int(value, name)


def parse_text(value: Any, name: str, *, max_len: int = 200) -> str:
    """A short free-text argument (stripped); non-strings and over-long values are refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AdminInputError(f"{name} must be text")
    value = value.strip()
    if len(value) > max_len:
        raise AdminInputError(f"{name} is longer than {max_len} characters")
    return value


def parse_choice(value: Any, name: str, choices: tuple[str, ...] | set[str] | dict) -> str:
    """One of a fixed set of values."""
    if not isinstance(value, str) or value not in choices:
        raise AdminInputError(f"{name} must be one of: {', '.join(sorted(choices))}")
    return value


def parse_window(value: Any) -> int:
    """A time window name (``1d``, ``7d``, ``30d``) as a number of days."""
    return WINDOWS[parse_choice(value, "window", WINDOWS)]


def since_days(days: int, *, now: datetime | None = None) -> datetime:
    """The instant ``days`` days before now."""
    return (now or utcnow()) - timedelta(days=days)


def page_of(rows: list[dict[str, Any]], *, page: int, page_size: int) -> Page:
    """Wrap rows fetched with ``limit page_size + 1`` into a `Page`."""
    return Page(rows=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size)


def parse_page(page: Any, page_size: Any = 50) -> tuple[int, int]:
    """Validated (page, page_size)."""
    return parse_int(page, "page", hi=100_000), parse_int(page_size, "page size", hi=MAX_PAGE_SIZE)


def sample_bound(total: int, target: int = SAMPLE_TIPS) -> str | None:
    """The tip-id prefix below which about ``target`` of ``total`` tips fall (None: take them all).

    Tip ids are random UUID hex, so ``id < bound`` is a uniform random sample that the primary
    key index reads directly, whatever the volume.

    Examples:
        >>> sample_bound(100_000), sample_bound(5_000)
        ('0f5c', None)
    """
    if total <= target:
        return None
    return f"{max(1, int(target / total * 0x10000)):04x}"


def mean_interval(n: int, total: float, total_sq: float, *, z: float = 1.96) -> tuple[float, float, float]:
    """Mean and a normal-approximation 95 % confidence interval from n, sum and sum of squares.

    Examples:
        >>> mean_interval(4, 2.0, 2.0)
        (0.5, -0.0658, 1.0658)
        >>> mean_interval(0, 0.0, 0.0)
        (0.0, 0.0, 0.0)
    """
    if n <= 0:
        return 0.0, 0.0, 0.0
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = z * math.sqrt(var / n)
    return round(mean, 4), round(mean - half, 4), round(mean + half, 4)
