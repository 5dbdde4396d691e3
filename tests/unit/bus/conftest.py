"""Fixtures for the event bus tests: a dict-backed EventStore and event builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from oo.bus import Event, TipFeedback, TipServed, matches


class FakeStore:
    """In-memory `EventStore` that records calls, like the app's DB-backed one."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}
        self.fail = False

    def save(self, event: Event) -> None:
        if self.fail:
            raise RuntimeError("database is down")
        self.events[event.id] = event

    def get(self, event_id: str) -> Event | None:
        return self.events.get(event_id)

    def list(
        self,
        *,
        limit: int = 100,
        subject: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        found = sorted(self.events.values(), key=lambda e: e.occurred_at, reverse=True)
        found = [
            e
            for e in found
            if (subject is None or matches(subject, e.subject))
            and (user_id is None or e.user_id == user_id)
            and (since is None or e.occurred_at >= since)
        ]
        return found[:limit]

    def purge_older_than(self, cutoff: datetime) -> int:
        old = [key for key, e in self.events.items() if e.occurred_at < cutoff]
        for key in old:
            del self.events[key]
        return len(old)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def feedback() -> Callable[..., Event]:
    """Build a valid signals.tip.feedback event."""

    def build(user_id: int | None = 1, **envelope: object) -> Event:
        return Event.of(TipFeedback(tip_id="t1", reaction="done", reward=1.0), user_id=user_id, **envelope)

    return build


@pytest.fixture
def served() -> Callable[..., Event]:
    """Build a valid signals.tip.served event."""

    def build(user_id: int | None = 1, **envelope: object) -> Event:
        payload = TipServed(
            tip_id="t1", task_id="42", policy="linucb", policy_version="3", score=0.7, channel="web"
        )
        return Event.of(payload, user_id=user_id, **envelope)

    return build
