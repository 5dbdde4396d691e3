"""Typed events for the signal bus: subjects, payload models and the JSON envelope.

An `Event` is a small envelope (id, subject, user, time) around a JSON-able ``data``
dict. Every subject has one payload model registered here; `validate_event` checks
``data`` against it before anything is published, so a typo in a field name fails at
the publisher rather than in a handler on another worker.

Examples:
    >>> event = Event.of(TipFeedback(tip_id="t1", reaction="done", reward=1.0), user_id=7)
    >>> event.subject
    'signals.tip.feedback'
    >>> Event.from_json(event.to_json()) == event
    True
    >>> event.payload().reward
    1.0
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, NonNegativeInt, ValidationError, field_validator

TASK_SYNCED = "signals.task.synced"
TASK_COMPLETED = "signals.task.completed"
TIP_SERVED = "signals.tip.served"
TIP_FEEDBACK = "signals.tip.feedback"
PUSH_SENT = "signals.push.sent"
ADMIN_ACTION = "signals.admin.action"

# Concrete subjects: dot-separated tokens of letters, digits, "_" or "-" (no wildcards).
_SUBJECT_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class BusError(Exception):
    """Base class for every error raised by the event bus."""


class UnknownSubject(BusError, ValueError):
    """The subject has no registered payload type."""


class InvalidPayload(BusError, ValueError):
    """The event data does not match the payload type of its subject."""


class Payload(BaseModel):
    """Base for the typed ``data`` of one subject; subclasses set ``SUBJECT``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    SUBJECT: ClassVar[str]


P = TypeVar("P", bound=type[Payload])
_REGISTRY: dict[str, type[Payload]] = {}
REGISTRY: Mapping[str, type[Payload]] = MappingProxyType(_REGISTRY)
"""Read-only view of subject -> payload type."""


def register(cls: P) -> P:
    """Register a payload class under its ``SUBJECT`` (usable as a class decorator).

    Args:
        cls: A `Payload` subclass with a concrete ``SUBJECT``.

    Returns:
        The class itself.

    Raises:
        ValueError: If the subject is malformed or already taken by another class.
    """
    subject = cls.SUBJECT
    if not _SUBJECT_RE.match(subject):
        raise ValueError(f"invalid subject {subject!r}")
    if _REGISTRY.get(subject, cls) is not cls:
        raise ValueError(f"subject {subject!r} is already registered to {_REGISTRY[subject].__name__}")
    _REGISTRY[subject] = cls
    return cls


class SyncCounts(BaseModel):
    """How many tasks one sync wrote, removed and ended up with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upserted: NonNegativeInt = 0
    removed: NonNegativeInt = 0
    total: NonNegativeInt = 0


@register
class TaskSynced(Payload):
    """A task source (e.g. Todoist) finished syncing for a user."""

    SUBJECT: ClassVar[str] = TASK_SYNCED

    source: str = Field(min_length=1)
    counts: SyncCounts
    duration_ms: float = Field(ge=0)


@register
class TaskCompleted(Payload):
    """A task was completed, in oO or in the external source (``external=True``)."""

    SUBJECT: ClassVar[str] = TASK_COMPLETED

    source: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    external: bool = False
    delivery_id: str | None = None


@register
class TipServed(Payload):
    """A policy picked a tip and it was shown on one channel."""

    SUBJECT: ClassVar[str] = TIP_SERVED

    tip_id: str = Field(min_length=1)
    task_id: str | None = None
    policy: str = Field(min_length=1)
    policy_version: str = Field(min_length=1)
    score: float
    channel: Literal["web", "push", "api"]


@register
class TipFeedback(Payload):
    """A user reacted to a tip; ``reward`` is what the learner was taught."""

    SUBJECT: ClassVar[str] = TIP_FEEDBACK

    tip_id: str = Field(min_length=1)
    reaction: str = Field(min_length=1)
    reward: float


@register
class PushSent(Payload):
    """One web-push delivery attempt and its outcome."""

    SUBJECT: ClassVar[str] = PUSH_SENT

    ok: bool
    tip_id: str | None = None
    status_code: int | None = None
    error: str | None = None


@register
class AdminAction(Payload):
    """An admin write (the event's ``user_id`` is the admin who made it)."""

    SUBJECT: ClassVar[str] = ADMIN_ACTION

    action: str = Field(min_length=1)
    target: str | None = None
    params: dict[str, JsonValue] = Field(default_factory=dict)


def _new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope that travels on the bus and is persisted for replay.

    The envelope itself only checks its shape (a concrete subject, an aware time); the
    payload is checked against the registry by `validate_event`, which every bus calls
    on publish. Keeping the envelope lenient lets old stored events with retired
    subjects still load.

    Attributes:
        id: 32 hex chars (uuid4); also the NATS ``Nats-Msg-Id`` used for dedupe.
        subject: A concrete subject such as ``signals.tip.served``.
        user_id: The user the event is about, if any.
        occurred_at: When it happened, always timezone-aware UTC.
        data: The payload as a JSON-able dict.
        replay_of: The id of the original event when this one is a replay.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(default_factory=_new_id, pattern=r"^[0-9a-f]{32}$")
    subject: str
    user_id: int | None = None
    occurred_at: datetime = Field(default_factory=_now)
    data: dict[str, JsonValue] = Field(default_factory=dict)
    replay_of: str | None = None

    @field_validator("subject")
    @classmethod
    def _concrete_subject(cls, value: str) -> str:
        if not _SUBJECT_RE.match(value):
            raise ValueError(f"subject must be dot-separated tokens without wildcards, got {value!r}")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        return value.astimezone(UTC)

    @classmethod
    def of(cls, payload: Payload, *, user_id: int | None = None, **envelope: Any) -> Event:
        """Build an event from a typed payload; the subject comes from the payload class.

        Args:
            payload: The typed payload.
            user_id: The user the event is about.
            **envelope: Other envelope fields (``occurred_at``, ``id``).

        Returns:
            The new event.
        """
        return cls(subject=payload.SUBJECT, user_id=user_id, data=payload.model_dump(mode="json"), **envelope)

    @property
    def is_replay(self) -> bool:
        """Whether this event re-publishes an earlier one."""
        return self.replay_of is not None

    def payload(self) -> Payload:
        """Parse ``data`` into the payload type registered for the subject.

        Raises:
            UnknownSubject: If the subject is not registered.
            InvalidPayload: If the data does not fit the payload type.
        """
        return _parse(self.subject, self.data)

    def to_json(self) -> str:
        """Serialise to a JSON string (`from_json` reverses it)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        """Parse an event from `to_json` output.

        Raises:
            pydantic.ValidationError: If the JSON is not a valid envelope.
        """
        return cls.model_validate_json(raw)


def payload_type(subject: str) -> type[Payload]:
    """Return the payload class registered for ``subject``.

    Raises:
        UnknownSubject: If nothing is registered under ``subject``.
    """
    try:
        return _REGISTRY[subject]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownSubject(f"unknown subject {subject!r}; known subjects: {known}") from None


def _parse(subject: str, data: Mapping[str, Any]) -> Payload:
    cls = payload_type(subject)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(f"invalid data for {subject}: {exc}") from exc


def validate_event(event: Event) -> Event:
    """Check an event against its payload type and return it with normalised data.

    Normalising fills defaults and coerces values, so every consumer sees the same
    dict for the same payload.

    Args:
        event: The event about to be published.

    Returns:
        A copy whose ``data`` is the payload dumped to JSON-able values.

    Raises:
        UnknownSubject: If the subject is not registered.
        InvalidPayload: If the data does not fit the payload type.

    Examples:
        >>> event = Event(subject=TASK_COMPLETED, data={"source": "todoist", "task_id": "42"})
        >>> validate_event(event).data["external"]
        False
        >>> validate_event(Event(subject="signals.nope"))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        oo.bus.events.UnknownSubject: unknown subject 'signals.nope'; known subjects: ...
    """
    data = _parse(event.subject, event.data).model_dump(mode="json")
    return event if data == event.data else event.model_copy(update={"data": data})


def subjects() -> frozenset[str]:
    """Return every registered subject."""
    return frozenset(_REGISTRY)
