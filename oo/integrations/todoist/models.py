"""Typed Todoist API v1 payloads, and normalization of a task into zone-aware values.

Payload models ignore unknown fields so new Todoist keys never break parsing, and read ids as
strings (v1 ids are opaque; a number is coerced rather than rejected).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oo.timezones import zone

DueKind = Literal["none", "date", "floating", "fixed"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class TodoistDue(_Payload):
    """A task's `due` object: `date` is all-day, floating local time, or a UTC instant."""

    date: str
    string: str = ""
    lang: str | None = None
    is_recurring: bool = False
    timezone: str | None = None
    # Pre-v1 payloads split the time into `datetime`; tolerated, never required.
    datetime: str | None = None


class TodoistDeadline(_Payload):
    """A task's `deadline` object (always a calendar date)."""

    date: str
    lang: str | None = None


class TodoistDuration(_Payload):
    """A task's `duration` object: an amount of `minute`s or `day`s."""

    amount: float | None = None
    unit: str | None = None


class TodoistTask(_Payload):
    """A task as returned by `/tasks`, `/sync` items and webhook `event_data`."""

    id: str
    user_id: str | None = None
    project_id: str | None = None
    section_id: str | None = None
    parent_id: str | None = None
    content: str = ""
    description: str = ""
    priority: int = 1
    labels: list[str] = Field(default_factory=list)
    due: TodoistDue | None = None
    deadline: TodoistDeadline | None = None
    duration: TodoistDuration | None = None
    checked: bool = False
    is_deleted: bool = False
    added_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    url: str | None = None


class TasksPage(_Payload):
    """One page of a v1 list endpoint."""

    results: list[TodoistTask] = Field(default_factory=list)
    next_cursor: str | None = None


class TodoistUser(_Payload):
    """The authorizing user; `timezone` is lifted from `tz_info.timezone`."""

    id: str
    email: str = ""
    full_name: str = ""
    timezone: str = "UTC"

    @model_validator(mode="before")
    @classmethod
    def _lift_timezone(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            tz_info = data.get("tz_info")
            if isinstance(tz_info, Mapping) and tz_info.get("timezone"):
                return {**data, "timezone": tz_info["timezone"]}
        return data


class TokenGrant(_Payload):
    """An OAuth token response; refresh fields appear only for apps with refresh tokens enabled."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_in: int | None = None
    scope: str | None = None


class SyncResult(_Payload):
    """The read side of a `/sync` answer: changed items, the user, and the next token."""

    sync_token: str
    full_sync: bool = False
    items: list[TodoistTask] = Field(default_factory=list)
    user: TodoistUser | None = None


@dataclass(frozen=True, slots=True)
class NormalizedTask:
    """A task reduced to what oO stores, with due dates resolved in the user's zone.

    Attributes:
        due_kind: "none", "date" (all-day), "floating" (wall-clock time in the user's zone)
            or "fixed" (an absolute instant).
        due_date: The due calendar date as the user sees it; never derived from UTC midnight.
        due_at: The due moment: user-zone aware for floating, UTC for fixed, None otherwise.
        priority: 1..4 where 4 is the most urgent (API order, inverted versus the UI's p1..p4).
    """

    id: str
    content: str
    description: str
    project_id: str | None
    priority: int
    labels: tuple[str, ...]
    added_at: datetime | None
    due_kind: DueKind
    due_date: date | None
    due_at: datetime | None
    is_recurring: bool
    deadline: date | None
    checked: bool
    is_deleted: bool
    url: str | None
    duration_minutes: float | None = None


def resolve_due(due: TodoistDue | None, user_tz: str) -> tuple[DueKind, date | None, datetime | None]:
    """Classify a `due` object and resolve it in the user's zone.

    Args:
        due: The task's due object, or None.
        user_tz: IANA zone of the user (from `/user` `tz_info.timezone`).

    Returns:
        `(due_kind, due_date, due_at)` as described on `NormalizedTask`.

    Raises:
        ValueError: If the due date text is not ISO 8601.

    Examples:
        >>> resolve_due(TodoistDue(date="2025-03-30"), "Europe/Berlin")
        ('date', datetime.date(2025, 3, 30), None)
        >>> kind, day, at = resolve_due(TodoistDue(date="2025-03-30T09:00:00"), "Europe/Berlin")
        >>> kind, day, at.isoformat()
        ('floating', datetime.date(2025, 3, 30), '2025-03-30T09:00:00+02:00')
    """
    if due is None or not due.date:
        return "none", None, None
    text = due.datetime or due.date
    if len(text) == 10:
        return "date", date.fromisoformat(text), None
    tz = zone(user_tz)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz)
        return "floating", local.date(), local
    instant = moment.astimezone(UTC)
    return "fixed", instant.astimezone(tz).date(), instant


DAY_MINUTES = 480  # a `day` duration counts as a working day


def _duration_minutes(duration: TodoistDuration | None) -> float | None:
    """A duration in minutes (``minute`` or ``day`` units); None when absent or odd.

    Examples:
        >>> _duration_minutes(TodoistDuration(amount=30, unit="minute"))
        30.0
        >>> _duration_minutes(TodoistDuration(amount=1, unit="day")), _duration_minutes(None)
        (480.0, None)
    """
    if duration is None or not duration.amount or duration.amount <= 0:
        return None
    if duration.unit not in ("minute", "day"):
        return None
    return float(duration.amount) * (DAY_MINUTES if duration.unit == "day" else 1)


def normalize_task(raw: TodoistTask | Mapping[str, Any], user_tz: str) -> NormalizedTask:
    """Turn a task payload into a `NormalizedTask` for a user in `user_tz`.

    Args:
        raw: A parsed `TodoistTask` or the raw JSON object.
        user_tz: IANA zone of the user; unknown names fall back to UTC.

    Returns:
        The normalized task.

    Raises:
        pydantic.ValidationError: If `raw` is a mapping that is not a task.
        ValueError: If a due or deadline date is not ISO 8601.
    """
    task = raw if isinstance(raw, TodoistTask) else TodoistTask.model_validate(raw)
    due_kind, due_date, due_at = resolve_due(task.due, user_tz)
    added_at = task.added_at
    if added_at is not None:
        # Todoist timestamps are UTC; a naive one is read as UTC rather than local time.
        added_at = added_at.replace(tzinfo=UTC) if added_at.tzinfo is None else added_at.astimezone(UTC)
    return NormalizedTask(
        id=task.id,
        content=task.content,
        description=task.description,
        project_id=task.project_id,
        priority=min(4, max(1, task.priority)),
        labels=tuple(task.labels),
        added_at=added_at,
        due_kind=due_kind,
        due_date=due_date,
        due_at=due_at,
        is_recurring=bool(task.due and task.due.is_recurring),
        deadline=date.fromisoformat(task.deadline.date) if task.deadline and task.deadline.date else None,
        checked=task.checked,
        is_deleted=task.is_deleted,
        url=task.url,
        duration_minutes=_duration_minutes(task.duration),
    )
