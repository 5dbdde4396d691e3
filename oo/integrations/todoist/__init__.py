"""Todoist API v1 integration: client, payload models, OAuth helpers and webhook verification."""

from .client import TodoistClient
from .errors import (
    TodoistAuthError,
    TodoistError,
    TodoistGoneError,
    TodoistUnavailable,
    WebhookPayloadError,
)
from .models import NormalizedTask, SyncResult, TodoistTask, TodoistUser, TokenGrant, normalize_task
from .webhooks import WebhookEvent, parse_webhook, verify_signature

__all__ = [
    "NormalizedTask",
    "SyncResult",
    "TodoistAuthError",
    "TodoistClient",
    "TodoistError",
    "TodoistGoneError",
    "TodoistTask",
    "TodoistUnavailable",
    "TodoistUser",
    "TokenGrant",
    "WebhookEvent",
    "WebhookPayloadError",
    "normalize_task",
    "parse_webhook",
    "verify_signature",
]
