"""Typed events: registry, payload validation and the JSON envelope."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

import oo.bus
from oo.bus import base, events, memory
from oo.bus.events import (
    ADMIN_ACTION,
    PUSH_SENT,
    REGISTRY,
    TASK_COMPLETED,
    TASK_SYNCED,
    TIP_FEEDBACK,
    TIP_SERVED,
    AdminAction,
    Event,
    InvalidPayload,
    Payload,
    PushSent,
    SyncCounts,
    TaskCompleted,
    TaskSynced,
    TipFeedback,
    TipServed,
    UnknownSubject,
    payload_type,
    register,
    validate_event,
)

PAYLOADS = [
    TaskSynced(source="todoist", counts=SyncCounts(upserted=3, removed=1, total=20), duration_ms=412.5),
    TaskCompleted(source="todoist", task_id="42", external=True, delivery_id="d-1"),
    TipServed(tip_id="t1", task_id="42", policy="linucb", policy_version="3", score=0.7, channel="push"),
    TipFeedback(tip_id="t1", reaction="skip", reward=0.0),
    PushSent(ok=False, tip_id="t1", status_code=410, error="gone"),
    AdminAction(action="reset_bandit", target="user:7", params={"policy": "linucb", "all": True}),
]


def test_registry_has_the_product_subjects():
    assert {TASK_SYNCED, TASK_COMPLETED, TIP_SERVED, TIP_FEEDBACK, PUSH_SENT, ADMIN_ACTION} <= set(REGISTRY)
    assert payload_type(TIP_SERVED) is TipServed


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_event_json_round_trip(payload):
    event = Event.of(payload, user_id=7)
    again = Event.from_json(event.to_json())
    assert again == event
    assert again.payload() == payload
    assert again.occurred_at.tzinfo is UTC


def test_event_defaults_are_fresh_ids_and_aware_utc_now():
    first, second = Event(subject=TIP_FEEDBACK), Event(subject=TIP_FEEDBACK)
    assert first.id != second.id
    assert len(first.id) == 32
    assert abs(datetime.now(UTC) - first.occurred_at) < timedelta(seconds=5)


def test_event_converts_aware_times_to_utc():
    paris = datetime(2025, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    event = Event(subject=TIP_FEEDBACK, occurred_at=paris)
    assert event.occurred_at == paris
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at.hour == 11


def test_event_rejects_naive_times():
    with pytest.raises(ValidationError, match="timezone-aware"):
        Event(subject=TIP_FEEDBACK, occurred_at=datetime(2025, 1, 1))


@pytest.mark.parametrize("subject", ["signals.>", "signals.*.served", "signals..tip", "", "signals tip"])
def test_event_rejects_non_concrete_subjects(subject):
    with pytest.raises(ValidationError):
        Event(subject=subject)


def test_event_is_immutable(feedback):
    with pytest.raises(ValidationError):
        feedback().user_id = 2


def test_validate_event_rejects_unknown_subject_naming_known_ones():
    with pytest.raises(UnknownSubject, match=r"unknown subject 'signals\.nope\.x'.*signals\.tip\.served"):
        validate_event(Event(subject="signals.nope.x", data={}))


@pytest.mark.parametrize(
    "data",
    [
        {"tip_id": "t1", "reaction": "done"},  # missing reward
        {"tip_id": "t1", "reaction": "done", "reward": "lots"},  # wrong type
        {"tip_id": "t1", "reaction": "done", "reward": 1.0, "rewrd": 2},  # typo caught
        {"tip_id": "", "reaction": "done", "reward": 1.0},  # empty id
    ],
)
def test_validate_event_rejects_bad_payloads(data):
    with pytest.raises(InvalidPayload, match=TIP_FEEDBACK):
        validate_event(Event(subject=TIP_FEEDBACK, data=data))


def test_validate_event_rejects_an_unknown_channel():
    data = {"tip_id": "t1", "policy": "p", "policy_version": "1", "score": 0.5, "channel": "sms"}
    with pytest.raises(InvalidPayload, match="channel"):
        validate_event(Event(subject=TIP_SERVED, data=data))


def test_validate_event_normalises_data_with_defaults():
    event = Event(subject=TASK_COMPLETED, data={"source": "todoist", "task_id": "42"})
    normalised = validate_event(event)
    assert normalised.data == {"source": "todoist", "task_id": "42", "external": False, "delivery_id": None}
    assert normalised.id == event.id


def test_register_refuses_a_taken_subject():
    class Clash(Payload):
        SUBJECT = TIP_FEEDBACK

    with pytest.raises(ValueError, match="already registered"):
        register(Clash)
    assert payload_type(TIP_FEEDBACK) is TipFeedback


@pytest.mark.parametrize("module", [events, base, memory, oo.bus])
def test_bus_doctests_pass(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
