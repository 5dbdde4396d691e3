"""Errors raised by the Todoist integration; messages never contain tokens or secrets."""

from __future__ import annotations


class TodoistError(Exception):
    """A Todoist request failed in a way the caller should not retry as-is.

    Attributes:
        status: HTTP status code, or None when no response was received.
        body_excerpt: The first characters of the response body, with secrets scrubbed.
    """

    def __init__(self, message: str, *, status: int | None = None, body_excerpt: str = "") -> None:
        """Store the status and body excerpt next to a human-readable message."""
        super().__init__(message)
        self.status = status
        self.body_excerpt = body_excerpt


class TodoistAuthError(TodoistError):
    """The token was rejected (401/403) or an OAuth exchange failed: the user must reconnect."""


class TodoistGoneError(TodoistError):
    """Todoist answered 410 Gone: the endpoint or API version was retired."""


class TodoistUnavailable(TodoistError):
    """Todoist kept failing (429, 5xx or transport errors) after every retry."""


class WebhookPayloadError(ValueError):
    """A webhook body is not a Todoist event (not JSON, or required keys are missing)."""
