"""Async Todoist API v1 client over an injected httpx.AsyncClient, with retries and typed results.

We use our own client rather than the official SDK because the SDK neither retries 429/5xx nor
covers `/sync` and `/user`. The token only ever travels in the Authorization header: it is not
logged and never appears in exception messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from oo.integrations.todoist.errors import (
    TodoistAuthError,
    TodoistError,
    TodoistGoneError,
    TodoistUnavailable,
)
from oo.integrations.todoist.models import SyncResult, TasksPage, TodoistTask, TodoistUser

logger = logging.getLogger(__name__)

API_URL = "https://api.todoist.com/api/v1"
# The documented maximum; the default of 50 would quadruple the requests per full listing.
PAGE_LIMIT = 200
# Todoist stops processing a request after 15 s, so a 20 s read/write timeout lets a slow but
# successful answer arrive while freeing the worker long before the SDK's 60 s. Connecting, or
# waiting for a pooled connection, for more than 10 s means the network or our shared pool is
# saturated: the retry loop below is a better place to spend that time.
TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=20.0, pool=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# For requests that must not run twice (closing a recurring task twice skips an occurrence) only
# statuses saying "not processed" are retried; 500/502/504 may come after the work was done.
UNPROCESSED_STATUSES = frozenset({429, 503})
# Transport errors raised before the request could reach Todoist, so always safe to retry.
UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 60.0
EXCERPT_CHARS = 200

_Model = TypeVar("_Model", bound=pydantic.BaseModel)


class TodoistClient:
    """Todoist API v1 for one user's token.

    Args:
        token: OAuth access token (or personal token) of the user.
        http: Shared client; its connection pool is reused across users.
        base_url: API root, e.g. the fake server's `api_url` in tests.
        max_attempts: Total attempts per request, including the first.
        sleep: Awaitable sleep, injected so tests record delays instead of waiting.
        rng: Returns a float in [0, 1) for full-jitter backoff.
        max_retry_after: Cap on a server-sent Retry-After, in seconds.
    """

    def __init__(
        self,
        token: str,
        http: httpx.AsyncClient,
        base_url: str = API_URL,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        *,
        max_retry_after: float = RETRY_AFTER_CAP,
    ) -> None:
        """Store configuration; no request is made here."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._token = token
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._rng = rng
        self._max_retry_after = max_retry_after
        self._headers = {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        """Describe the client without revealing the token."""
        return f"TodoistClient(base_url={self._base_url!r})"

    async def list_tasks(self) -> list[TodoistTask]:
        """Return every active task, following `next_cursor` until it is null.

        Raises:
            TodoistError: On a non-retryable failure (see the subclasses for auth and 410).
        """
        tasks: list[TodoistTask] = []
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        seen: set[str] = set()
        while True:
            page = await self._get_model(TasksPage, "GET", "/tasks", params=params)
            tasks.extend(page.results)
            if not page.next_cursor:
                return tasks
            if page.next_cursor in seen:
                raise TodoistError("Todoist repeated a pagination cursor; stopping to avoid a loop")
            seen.add(page.next_cursor)
            params = {"limit": PAGE_LIMIT, "cursor": page.next_cursor}

    async def close_task(self, task_id: str) -> None:
        """Complete a task (a recurring one moves to its next occurrence instead).

        Args:
            task_id: The opaque task id.
        """
        await self._request("POST", f"/tasks/{quote(task_id, safe='')}/close", idempotent=False)

    async def close_task_once(self, task_id: str, command_uuid: str) -> None:
        """Complete a task through the Sync API with a command ``uuid``: safe to retry.

        Todoist runs a command whose uuid it has already executed only once, so a retry after an
        ambiguous failure (a 5xx or a timeout after the request was sent) cannot close a
        recurring task twice, which would skip an occurrence.

        Args:
            task_id: The opaque task id.
            command_uuid: The same uuid for every attempt at this one close.

        Raises:
            TodoistError: ``status`` 404 when Todoist no longer has the task; another status
                when it refused the command.
        """
        command = {"type": "item_close", "uuid": command_uuid, "args": {"id": task_id}}
        response = await self._request("POST", "/sync", data={"commands": json.dumps([command])})
        try:
            result = response.json()["sync_status"][command_uuid]
        except (ValueError, KeyError, TypeError) as exc:
            raise TodoistError("Todoist POST /sync answered without the command's status") from exc
        if result == "ok":
            return
        tag = result.get("error_tag", "") if isinstance(result, dict) else ""
        raise TodoistError(
            f"Todoist refused closing the task ({tag or 'error'})",
            status=404 if tag == "ITEM_NOT_FOUND" else 400,
        )

    async def reopen_task(self, task_id: str) -> None:
        """Reopen a completed task (Undo after Done).

        Args:
            task_id: The opaque task id.
        """
        await self._request("POST", f"/tasks/{quote(task_id, safe='')}/reopen", idempotent=False)

    async def sync(
        self, sync_token: str | None, resource_types: Iterable[str] = ("items", "user")
    ) -> SyncResult:
        """Read changes since `sync_token` (a full sync when it is None).

        Args:
            sync_token: The token from the previous `SyncResult`, or None for a full sync.
            resource_types: Sync resource names to fetch.

        Returns:
            The changed items (checked/deleted ones included on incremental syncs), the user if
            requested, the next token and whether this was a full sync.
        """
        data = {"sync_token": sync_token or "*", "resource_types": json.dumps(list(resource_types))}
        return await self._get_model(SyncResult, "POST", "/sync", data=data)

    async def get_user(self) -> TodoistUser:
        """Return the token's user, with `timezone` taken from `tz_info`."""
        return await self._get_model(TodoistUser, "GET", "/user")

    async def _get_model(self, model: type[_Model], method: str, path: str, **kwargs: Any) -> _Model:
        response = await self._request(method, path, **kwargs)
        try:
            return model.model_validate(response.json())
        except (ValueError, pydantic.ValidationError) as exc:
            raise TodoistError(
                f"Todoist {method} {path} returned an unexpected payload",
                status=response.status_code,
                body_excerpt=self._excerpt(response),
            ) from exc

    async def _request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        retry_statuses = RETRY_STATUSES if idempotent else UNPROCESSED_STATUSES
        url = f"{self._base_url}{path}"
        outcome = ""
        status: int | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._http.request(
                    method, url, headers=self._headers, timeout=TIMEOUT, **kwargs
                )
            except httpx.TransportError as exc:
                if not idempotent and not isinstance(exc, UNSENT_ERRORS):
                    raise TodoistUnavailable(
                        f"Todoist {method} {path} failed after it may have been sent "
                        f"({type(exc).__name__}); not retried"
                    ) from exc
                outcome, status, delay = type(exc).__name__, None, self._backoff(attempt)
            else:
                if response.is_success:
                    return response
                if response.status_code in RETRY_STATUSES - retry_statuses:
                    raise TodoistUnavailable(
                        f"Todoist {method} {path} failed with HTTP {response.status_code} after it "
                        "may have run; not retried",
                        status=response.status_code,
                    )
                if response.status_code not in retry_statuses:
                    raise self._error(method, path, response)
                outcome, status = f"HTTP {response.status_code}", response.status_code
                delay = self._retry_delay(response, attempt)
            if attempt < self._max_attempts:
                logger.warning("Todoist %s %s: %s; retrying in %.2fs", method, path, outcome, delay)
                await self._sleep(delay)
        raise TodoistUnavailable(
            f"Todoist {method} {path} still failing after {self._max_attempts} attempts ({outcome})",
            status=status,
        )

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1)))."""
        return self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        """Honour Retry-After (seconds or HTTP date, capped) on 429; back off otherwise."""
        seconds = _retry_after_seconds(response) if response.status_code == 429 else None
        if seconds is None:
            return self._backoff(attempt)
        return min(max(seconds, 0.0), self._max_retry_after)

    def _error(self, method: str, path: str, response: httpx.Response) -> TodoistError:
        status, excerpt = response.status_code, self._excerpt(response)
        if status in (401, 403):
            return TodoistAuthError(
                f"Todoist rejected the token (HTTP {status}) on {method} {path}; the user must reconnect",
                status=status,
                body_excerpt=excerpt,
            )
        if status == 410:
            return TodoistGoneError(
                f"Todoist answered 410 Gone for {method} {path}: this endpoint or API version was "
                "retired; the integration must move to the current API",
                status=status,
                body_excerpt=excerpt,
            )
        return TodoistError(
            f"Todoist {method} {path} failed with HTTP {status}: {excerpt}",
            status=status,
            body_excerpt=excerpt,
        )

    def _excerpt(self, response: httpx.Response) -> str:
        text = " ".join(response.text[:EXCERPT_CHARS].split())
        return text.replace(self._token, "***") if self._token else text


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """Read Retry-After as seconds or an HTTP date, else `error_extra.retry_after` in the body."""
    value = response.headers.get("Retry-After", "").strip()
    if value:
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            pass
    try:
        extra = response.json().get("error_extra") or {}
        return float(extra["retry_after"])
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
