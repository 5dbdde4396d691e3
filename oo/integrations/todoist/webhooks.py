"""Todoist webhooks: signature check over the raw body, and parsing into a `WebhookEvent`.

Verify first, parse second: the signature covers the exact bytes received, so re-serialised JSON
no longer matches. The delivery id header (reused by Todoist on retries) is the idempotency key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oo.integrations.todoist.errors import WebhookPayloadError

SIGNATURE_HEADER = "X-Todoist-Hmac-SHA256"
DELIVERY_ID_HEADER = "X-Todoist-Delivery-ID"


def compute_signature(raw_body: bytes, client_secret: str) -> str:
    """Return base64(HMAC-SHA256(client_secret, raw_body)), the value Todoist sends."""
    digest = hmac.new(client_secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(raw_body: bytes, header_value: str | None, client_secret: str) -> bool:
    """Check the `X-Todoist-Hmac-SHA256` header against the raw request body.

    Args:
        raw_body: The request body exactly as received.
        header_value: The header value, or None when it is missing.
        client_secret: The app's OAuth client secret (the signing key).

    Returns:
        True only for a well-formed header matching the body; False when the header is missing,
        not base64, or wrong. The comparison runs in constant time.

    Examples:
        >>> verify_signature(b"{}", compute_signature(b"{}", "s3cret"), "s3cret")
        True
        >>> verify_signature(b"{} ", compute_signature(b"{}", "s3cret"), "s3cret")
        False
    """
    if not header_value or not client_secret:
        return False
    try:
        received = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(client_secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, received)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One webhook notification.

    Attributes:
        event_name: e.g. "item:completed" or "item:updated".
        user_id: The Todoist id of the user who authorized the app.
        event_data: The changed object (a task for `item:*` events).
        event_data_extra: Optional context such as `old_item` and `update_intent`.
        triggered_at: When Todoist fired the event, if it said so.
    """

    event_name: str
    user_id: str
    event_data: dict[str, Any]
    event_data_extra: dict[str, Any] = field(default_factory=dict)
    triggered_at: datetime | None = None
    version: str | None = None

    @property
    def update_intent(self) -> str | None:
        """The `update_intent` of an `item:updated` event, if any."""
        intent = self.event_data_extra.get("update_intent")
        return intent if isinstance(intent, str) else None

    @property
    def is_completion(self) -> bool:
        """True for `item:completed`, and for updates completing a (recurring) task."""
        return self.event_name == "item:completed" or (
            self.event_name == "item:updated" and self.update_intent == "item_completed"
        )

    @property
    def task_id(self) -> str | None:
        """The task id for `item:*` events, else None."""
        if not self.event_name.startswith("item:") or self.event_data.get("id") is None:
            return None
        return str(self.event_data["id"])


def parse_webhook(raw_body: bytes) -> WebhookEvent:
    """Parse a webhook body (call only after `verify_signature` succeeded).

    Args:
        raw_body: The request body.

    Returns:
        The event.

    Raises:
        WebhookPayloadError: If the body is not a JSON object with `event_name`, `user_id` and an
            object `event_data`.
    """
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # hostile nesting: 400, not 500
        raise WebhookPayloadError("webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("webhook body is not a JSON object")
    event_name, user_id, event_data = (payload.get(k) for k in ("event_name", "user_id", "event_data"))
    if not isinstance(event_name, str) or not event_name:
        raise WebhookPayloadError("webhook body has no event_name")
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or user_id == "":
        raise WebhookPayloadError("webhook body has no user_id")
    if not isinstance(event_data, dict):
        raise WebhookPayloadError("webhook body has no event_data object")
    extra = payload.get("event_data_extra")
    version = payload.get("version")
    return WebhookEvent(
        event_name=event_name,
        user_id=str(user_id),
        event_data=event_data,
        event_data_extra=extra if isinstance(extra, dict) else {},
        triggered_at=_parse_time(payload.get("triggered_at")),
        version=str(version) if version is not None else None,
    )


def _parse_time(value: Any) -> datetime | None:
    """Read an RFC 3339 timestamp as an aware UTC datetime; None if absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
