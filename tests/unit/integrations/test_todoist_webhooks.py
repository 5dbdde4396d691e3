"""Webhook signature verification on raw bytes, and parsing of each captured event type."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oo.integrations.todoist import WebhookPayloadError, parse_webhook, verify_signature

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "todoist"
SECRET = "test-client-secret"
EVENT_FIXTURES = ["webhook_item_completed.json", "webhook_item_updated_completed.json"]


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    """Computed here independently of the code under test."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_valid_signature_is_accepted(name: str) -> None:
    body = raw(name)
    assert verify_signature(body, sign(body), SECRET) is True


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_one_flipped_body_byte_is_rejected(name: str) -> None:
    body = bytearray(raw(name))
    signature = sign(bytes(body))
    body[len(body) // 2] ^= 0x01
    assert verify_signature(bytes(body), signature, SECRET) is False


def test_one_flipped_signature_byte_is_rejected() -> None:
    body = raw(EVENT_FIXTURES[0])
    digest = bytearray(base64.b64decode(sign(body)))
    digest[0] ^= 0x80
    assert verify_signature(body, base64.b64encode(bytes(digest)).decode(), SECRET) is False


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_reserialised_json_is_rejected(name: str) -> None:
    body = raw(name)
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    assert verify_signature(reserialised, sign(body), SECRET) is False


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_rejected(header: str | None) -> None:
    assert verify_signature(raw(EVENT_FIXTURES[0]), header, SECRET) is False


@pytest.mark.parametrize("header", ["not base64!!", "abc", "Zm9v"])
def test_garbled_header_is_rejected(header: str) -> None:
    assert verify_signature(raw(EVENT_FIXTURES[0]), header, SECRET) is False


def test_wrong_secret_is_rejected() -> None:
    body = raw(EVENT_FIXTURES[0])
    assert verify_signature(body, sign(body, "other-secret"), SECRET) is False
    assert verify_signature(body, sign(body), "") is False


def test_item_completed_event() -> None:
    event = parse_webhook(raw("webhook_item_completed.json"))
    assert event.event_name == "item:completed"
    assert event.user_id == "2671355"
    assert event.task_id == "6X7rM8997g3RQmvh"
    assert event.is_completion is True
    assert event.event_data["checked"] is True
    assert event.event_data_extra == {}
    assert event.triggered_at == datetime(2025, 4, 3, 10, 12, 0, 123456, tzinfo=UTC)
    assert event.version == "1"


def test_item_updated_with_completion_intent_event() -> None:
    event = parse_webhook(raw("webhook_item_updated_completed.json"))
    assert event.event_name == "item:updated"
    assert event.update_intent == "item_completed"
    assert event.is_completion is True
    assert event.task_id == "6X7rfFVPjhvv84XG"
    assert event.event_data["due"]["date"] == "2025-04-11T09:30:00"
    assert event.event_data_extra["old_item"]["due"]["date"] == "2025-04-10T09:30:00"


def test_plain_update_is_not_a_completion() -> None:
    payload = json.loads(raw("webhook_item_updated_completed.json"))
    payload["event_data_extra"]["update_intent"] = "item_updated"
    event = parse_webhook(json.dumps(payload).encode())
    assert event.is_completion is False


def test_non_item_event_has_no_task_id() -> None:
    body = json.dumps({"event_name": "project:added", "user_id": 5, "event_data": {"id": "p1"}}).encode()
    event = parse_webhook(body)
    assert (event.user_id, event.task_id, event.is_completion) == ("5", None, False)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"user_id": "1", "event_data": {}}',
        b'{"event_name": "item:added", "event_data": {}}',
        b'{"event_name": "item:added", "user_id": "1"}',
        b'{"event_name": "item:added", "user_id": "1", "event_data": []}',
        b'{"event_name": "", "user_id": "1", "event_data": {}}',
    ],
)
def test_malformed_bodies_raise(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook(body)
