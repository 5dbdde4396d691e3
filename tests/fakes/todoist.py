"""A faithful fake of Todoist API v1 and its OAuth endpoints, served on loopback for tests and benches.

It follows the fake-server checklist of `/work/shared/reference/todoist-api.md` §9: Bearer auth
(401 otherwise), opaque cursors with `limit` <= 200, string ids, `checked` flipping on close while
recurring tasks advance `due`, `/sync` full and incremental deltas, single-use OAuth codes, both
revocation forms, and webhooks signed base64(HMAC-SHA256(client_secret, raw body)). Failure and
latency injection plus request counters live on the `FakeTodoist` object.

The signing code here is written independently of `oo.integrations.todoist.webhooks` on purpose,
so a mistake there cannot hide itself. Assumptions beyond the reference: a close advances a
recurring task by exactly one day, and an unknown sync token answers 400.

Usage::

    with FakeTodoistServer() as server:
        server.fake.add_user("token-1")
        server.fake.seed_tasks("token-1", 200)
        client = TodoistClient("token-1", http, base_url=server.api_url)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import random
import secrets
import socket
import string
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

PAGE_MAX = 200
PAGE_DEFAULT = 50
_ID_ALPHABET = string.ascii_letters + string.digits
_VERBS = ("Call", "Email", "Buy", "Review", "Write", "Fix", "Plan", "Book", "Pay", "Clean", "Read", "Prepare")
_OBJECTS = (
    "the dentist",
    "quarterly report",
    "groceries",
    "Anna about the trip",
    "the bike brakes",
    "rent",
    "slides for Monday",
    "tax return",
    "insurance claim",
    "birthday gift for Sam",
    "the garage",
    "chapter 3 notes",
)
_LABELS = ("work", "home", "errand", "phone", "computer", "quick", "waiting", "deep-work")
_RECURRING = ("every day", "every weekday", "every monday", "every week", "every month")


def _stamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with microseconds, the form Todoist uses."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error(status: int, message: str, tag: str, **extra: Any) -> JSONResponse:
    body = {
        "error": message,
        "error_code": status,
        "error_tag": tag,
        "http_code": status,
        "error_extra": extra,
    }
    return JSONResponse(body, status_code=status)


@dataclass(slots=True)
class FakeTask:
    """A stored task; slots keep 200,000 of them affordable."""

    id: str
    user_id: str
    project_id: str
    content: str
    added_at: str
    rev: int
    description: str = ""
    priority: int = 1
    labels: list[str] = field(default_factory=list)
    due: dict[str, Any] | None = None
    deadline: dict[str, Any] | None = None
    section_id: str | None = None
    parent_id: str | None = None
    checked: bool = False
    is_deleted: bool = False
    completed_at: str | None = None
    updated_at: str | None = None
    child_order: int = 0

    @property
    def active(self) -> bool:
        """Whether `/tasks` lists it."""
        return not (self.checked or self.is_deleted)

    def to_json(self) -> dict[str, Any]:
        """The v1 wire shape, including fields clients should ignore (`v2_id`)."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "project_id": self.project_id,
            "section_id": self.section_id,
            "parent_id": self.parent_id,
            "added_by_uid": self.user_id,
            "assigned_by_uid": None,
            "responsible_uid": None,
            "labels": list(self.labels),
            "deadline": self.deadline,
            "duration": None,
            "checked": self.checked,
            "is_deleted": self.is_deleted,
            "added_at": self.added_at,
            "completed_at": self.completed_at,
            "completed_by_uid": self.user_id if self.checked else None,
            "updated_at": self.updated_at or self.added_at,
            "due": self.due,
            "priority": self.priority,
            "child_order": self.child_order,
            "content": self.content,
            "description": self.description,
            "note_count": 0,
            "day_order": -1,
            "is_collapsed": False,
            "v2_id": str(int.from_bytes(self.id.encode()[:4], "big")),
        }


# What `add_task` accepts: stored fields plus the due/deadline shortcuts of the create endpoint.
_TASK_FIELDS = {f.name for f in dataclass_fields(FakeTask)} - {
    "user_id",
    "rev",
    "completed_at",
    "updated_at",
} | {
    "due_date",
    "due_datetime",
    "due_string",
    "due_timezone",
    "is_recurring",
    "deadline_date",
}


@dataclass(slots=True)
class FakeUser:
    """A Todoist account reachable through one token."""

    token: str
    id: str
    email: str
    full_name: str
    tz: str
    inbox_project_id: str
    projects: list[str]
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    command_status: dict[str, Any] = field(default_factory=dict)  # Sync API: uuid -> sync_status
    seq: int = 0

    def bump(self) -> int:
        """Advance the change counter that sync tokens point into."""
        self.seq += 1
        return self.seq

    def to_json(self) -> dict[str, Any]:
        """The `/user` (and sync `user`) shape."""
        offset = datetime.now(ZoneInfo(self.tz)).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        return {
            "id": self.id,
            "email": self.email,
            "full_name": self.full_name,
            "inbox_project_id": self.inbox_project_id,
            "tz_info": {
                "timezone": self.tz,
                "gmt_string": f"{sign}{hours:02d}:{mins:02d}",
                "hours": hours if minutes >= 0 else -hours,
                "minutes": mins,
                "is_dst": 1 if ZoneInfo(self.tz).dst(datetime.now()) else 0,
            },
            "lang": "en",
            "is_premium": False,
            "premium_status": "not_premium",
            "start_day": 1,
            "next_week": 1,
            "days_off": [6, 7],
            "date_format": 0,
            "time_format": 0,
        }


@dataclass(slots=True)
class WebhookDelivery:
    """One notification; `FakeTodoist.redeliver` re-sends the same bytes and delivery id."""

    url: str
    delivery_id: str
    body: bytes
    signature: str
    statuses: list[int] = field(default_factory=list)


class FakeTodoist:
    """State and test controls of the fake; every public method is safe to call from tests."""

    def __init__(self, client_id: str, client_secret: str, *, redirect_uri: str | None = None, seed: int = 0):
        """Create an empty fake for one OAuth app."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.deny_authorization = False
        self.revoke_endpoint_enabled = True
        self.grant_token: str | None = None
        self.revoked_tokens: set[str] = set()
        self.revocations: list[tuple[str, str]] = []
        self.requests: Counter[str] = Counter()
        self.requests_by_token: Counter[str] = Counter()
        self.deliveries: list[WebhookDelivery] = []
        self._users: dict[str, FakeUser] = {}
        self._task_owner: dict[str, FakeUser] = {}
        self._codes: dict[str, str] = {}
        self._faults: deque[list[Any]] = deque()
        self._after_faults: deque[list[Any]] = deque()
        self._delays: deque[list[Any]] = deque()
        self._rng = random.Random(seed)
        self._key = secrets.token_bytes(16)
        self._lock = threading.RLock()
        self._next_user_id = 10_000_000

    # ---- test controls -------------------------------------------------------------------
    def add_user(
        self, token: str, tz: str = "Europe/Berlin", email: str | None = None, full_name: str | None = None
    ) -> FakeUser:
        """Create an account whose API token is `token`."""
        with self._lock:
            self._next_user_id += 1
            uid = str(self._next_user_id)
            inbox = self._new_id()
            user = FakeUser(
                token=token,
                id=uid,
                email=email or f"user{uid}@example.com",
                full_name=full_name or f"User {uid}",
                tz=tz,
                inbox_project_id=inbox,
                projects=[inbox, *(self._new_id() for _ in range(3))],
            )
            self._users[token] = user
            return user

    def user(self, token: str) -> FakeUser:
        """Return the account of `token` (KeyError if unknown)."""
        return self._users[token]

    def add_task(self, token: str, **fields: Any) -> dict[str, Any]:
        """Add a task; accepts wire fields plus `due_date`/`due_datetime`/`due_string` shortcuts.

        A `due_datetime` ending in "Z" is a fixed instant (give `due_timezone`), otherwise it is
        floating. Returns the task as the API would show it.
        """
        unknown = set(fields) - _TASK_FIELDS
        if unknown:
            raise TypeError(f"unknown task fields: {sorted(unknown)}")
        with self._lock:
            user = self._users[token]
            added = fields.get("added_at") or datetime.now(UTC)
            task = FakeTask(
                id=str(fields.get("id") or self._new_id()),
                user_id=user.id,
                project_id=fields.get("project_id") or user.inbox_project_id,
                content=fields.get("content", "Untitled task"),
                added_at=_stamp(added) if isinstance(added, datetime) else added,
                rev=user.bump(),
                description=fields.get("description", ""),
                priority=fields.get("priority", 1),
                labels=list(fields.get("labels", [])),
                due=fields["due"] if "due" in fields else _due_from(fields),
                deadline=fields.get("deadline")
                or ({"date": fields["deadline_date"], "lang": "en"} if fields.get("deadline_date") else None),
                section_id=fields.get("section_id"),
                parent_id=fields.get("parent_id"),
                checked=fields.get("checked", False),
                is_deleted=fields.get("is_deleted", False),
                child_order=len(user.tasks) + 1,
            )
            user.tasks[task.id] = task
            self._task_owner[task.id] = user
            return task.to_json()

    def seed_tasks(self, token: str, n: int, *, seed: int | None = None) -> list[str]:
        """Add `n` varied, realistic tasks (due forms, priorities, labels) and return their ids."""
        rng = random.Random(seed if seed is not None else self._rng.random())
        user = self._users[token]
        today = datetime.now(ZoneInfo(user.tz)).date()
        ids = []
        for _ in range(n):
            fields: dict[str, Any] = {
                "content": f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}",
                "priority": rng.choices((1, 2, 3, 4), weights=(55, 20, 15, 10))[0],
                "labels": rng.sample(_LABELS, k=rng.choice((0, 0, 1, 1, 2))),
                "project_id": rng.choice(user.projects),
                "added_at": datetime.now(UTC) - timedelta(days=rng.uniform(0, 180)),
                "description": rng.choice(("", "", "", "", "See the note from last week.")),
            }
            fields.update(_random_due(rng, today))
            if rng.random() < 0.05:
                fields["deadline_date"] = (today + timedelta(days=rng.randint(1, 30))).isoformat()
            ids.append(self.add_task(token, **fields)["id"])
        return ids

    def task(self, token: str, task_id: str) -> dict[str, Any]:
        """The current wire shape of one of `token`'s tasks."""
        with self._lock:
            return self._users[token].tasks[task_id].to_json()

    def complete_externally(self, token: str, task_id: str) -> dict[str, Any]:
        """Complete a task as if the user did it in Todoist; returns the task afterwards."""
        with self._lock:
            task = self._users[token].tasks[task_id]
            self._close(self._users[token], task)
            return task.to_json()

    def delete_externally(self, token: str, task_id: str) -> dict[str, Any]:
        """Delete a task as if the user did it in Todoist; returns the task afterwards."""
        with self._lock:
            user = self._users[token]
            task = user.tasks[task_id]
            task.is_deleted, task.updated_at, task.rev = True, _stamp(), user.bump()
            return task.to_json()

    def closed_ids(self, token: str) -> list[str]:
        """Task ids closed through the API with this token, in order (recurring ones included)."""
        return list(self._users[token].closed)

    def active_ids(self, token: str) -> list[str]:
        """Ids `/tasks` would list for this token."""
        with self._lock:
            return [t.id for t in self._users[token].tasks.values() if t.active]

    def issue_code(self, token: str) -> str:
        """Return a fresh authorization code that exchanges for `token` (creating the user)."""
        with self._lock:
            if token not in self._users:
                self.add_user(token)
            code = secrets.token_urlsafe(16)
            self._codes[code] = token
            return code

    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `n` `/api/v1` requests with `status` (429 gets Retry-After if given)."""
        with self._lock:
            self._faults.append([n, status, retry_after])

    def fail_after_next(self, n: int, status: int) -> None:
        """Run the next `n` `/api/v1` requests, then answer `status` anyway (an ambiguous failure)."""
        with self._lock:
            self._after_faults.append([n, status])

    def take_after_fault(self) -> int | None:
        """Pop one unit of a failure that comes after the work was done."""
        with self._lock:
            if not self._after_faults:
                return None
            entry = self._after_faults[0]
            entry[0] -= 1
            if entry[0] <= 0:
                self._after_faults.popleft()
            return entry[1]

    def clear_faults(self) -> None:
        """Forget queued failures and delays (a module-scoped server shared by several tests)."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._after_faults.clear()

    def delay_next(self, n: int, seconds: float) -> None:
        """Hold the next `n` `/api/v1` requests for `seconds` before answering."""
        with self._lock:
            self._delays.append([n, seconds])

    async def send_webhook(
        self,
        url: str,
        event_name: str,
        task: dict[str, Any] | str,
        delivery_id: str | None = None,
        extra: dict[str, Any] | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        secret: str | None = None,
        retries: int = 0,
    ) -> WebhookDelivery:
        """POST a signed notification about `task` (a wire dict or a task id) to `url`.

        Args:
            url: Receiver URL.
            event_name: e.g. "item:completed" or "item:updated".
            task: The task payload, or the id of a stored task.
            delivery_id: Reuse an id (as Todoist does on retries); a fresh UUID otherwise.
            extra: `event_data_extra`, e.g. {"update_intent": "item_completed", "old_item": {...}}.
            http: Client to send with, e.g. one over `httpx.ASGITransport(app)`.
            secret: Sign with this instead of the client secret (to test rejection).
            retries: Re-send the same bytes and delivery id up to this many times while the
                receiver answers anything but 200 (without Todoist's 15 minute wait).
        """
        data = task if isinstance(task, dict) else self._task_owner[task].tasks[task].to_json()
        payload: dict[str, Any] = {
            "event_name": event_name,
            "user_id": data["user_id"],
            "event_data": {**data, "url": f"https://app.todoist.com/app/task/{data['id']}"},
            "initiator": {"id": data["user_id"], "full_name": "Fake User", "email": "", "image_id": None},
            "version": "1",
            "triggered_at": _stamp(),
        }
        if extra is not None:
            payload["event_data_extra"] = extra
        body = json.dumps(payload).encode()
        digest = hmac.new((secret or self.client_secret).encode(), body, hashlib.sha256).digest()
        delivery = WebhookDelivery(
            url, delivery_id or str(uuid.uuid4()), body, base64.b64encode(digest).decode()
        )
        self.deliveries.append(delivery)
        for _ in range(retries + 1):
            if await self.redeliver(delivery, http=http) == 200:
                break
        return delivery

    async def redeliver(self, delivery: WebhookDelivery, *, http: httpx.AsyncClient | None = None) -> int:
        """Send a delivery again, byte for byte with the same delivery id; returns the status."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Todoist-Webhooks",
            "X-Todoist-Hmac-SHA256": delivery.signature,
            "X-Todoist-Delivery-ID": delivery.delivery_id,
        }
        if http is None:
            async with httpx.AsyncClient(timeout=10.0) as own:
                response = await own.post(delivery.url, content=delivery.body, headers=headers)
        else:
            response = await http.post(delivery.url, content=delivery.body, headers=headers)
        delivery.statuses.append(response.status_code)
        return response.status_code

    # ---- internals ------------------------------------------------------------------------
    def _new_id(self) -> str:
        return "".join(self._rng.choices(_ID_ALPHABET, k=16))

    def _close(self, user: FakeUser, task: FakeTask) -> None:
        if task.due and task.due.get("is_recurring"):
            task.due = {**task.due, "date": _advance(task.due["date"])}
        else:
            task.checked, task.completed_at = True, _stamp()
        task.updated_at, task.rev = _stamp(), user.bump()

    def encode(self, *parts: Any) -> str:
        """An opaque, tamper-evident token (cursors and sync tokens)."""
        raw = json.dumps(parts, separators=(",", ":")).encode()
        tag = hmac.new(self._key, raw, hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(tag + raw).decode().rstrip("=")

    def decode(self, token: str) -> list[Any] | None:
        """Reverse `encode`; None when the token was not made here."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        tag, raw = blob[:8], blob[8:]
        if not hmac.compare_digest(tag, hmac.new(self._key, raw, hashlib.sha256).digest()[:8]):
            return None
        parts = json.loads(raw)
        return parts if isinstance(parts, list) else None

    def take_fault(self) -> tuple[float, int | None, float | None]:
        """Pop one unit of injected delay and failure: (delay, status, retry_after)."""
        with self._lock:
            delay = 0.0
            if self._delays:
                entry = self._delays[0]
                delay, entry[0] = entry[1], entry[0] - 1
                if entry[0] <= 0:
                    self._delays.popleft()
            if not self._faults:
                return delay, None, None
            entry = self._faults[0]
            entry[0] -= 1
            if entry[0] <= 0:
                self._faults.popleft()
            return delay, entry[1], entry[2]

    def authenticate(self, request: Request) -> FakeUser | None:
        """The user behind a valid, unrevoked Bearer token."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token in self.revoked_tokens:
            return None
        user = self._users.get(token)
        if user is not None:
            self.requests_by_token[token] += 1
        return user

    def check_basic(self, request: Request) -> bool:
        """Whether the request carries this app's client id and secret as Basic auth."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        try:
            cid, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, ValueError):
            return False
        return scheme.lower() == "basic" and cid == self.client_id and secret == self.client_secret


def _due_from(fields: dict[str, Any]) -> dict[str, Any] | None:
    text = fields.get("due_datetime") or fields.get("due_date")
    if not text:
        return None
    fixed = text.endswith("Z")
    return {
        "date": text,
        "string": fields.get("due_string") or text,
        "lang": "en",
        "is_recurring": bool(fields.get("is_recurring", False)),
        "timezone": fields.get("due_timezone", "UTC") if fixed else None,
    }


def _random_due(rng: random.Random, today: date) -> dict[str, Any]:
    roll = rng.random()
    day = today + timedelta(days=rng.randint(-7, 21))
    hour = f"T{rng.randint(7, 20):02d}:{rng.choice(('00', '15', '30', '45'))}:00"
    if roll < 0.35:
        return {}
    if roll < 0.65:
        return {"due_date": day.isoformat()}
    if roll < 0.80:
        return {"due_datetime": day.isoformat() + hour}
    if roll < 0.90:
        return {"due_datetime": day.isoformat() + hour + "Z", "due_timezone": "America/New_York"}
    timed = rng.random() < 0.5
    return {
        "due_datetime" if timed else "due_date": today.isoformat() + (hour if timed else ""),
        "due_string": rng.choice(_RECURRING),
        "is_recurring": True,
    }


def _advance(text: str) -> str:
    """Move a due date one day on, keeping its form (all-day, floating or fixed)."""
    if len(text) == 10:
        return (date.fromisoformat(text) + timedelta(days=1)).isoformat()
    fixed = text.endswith("Z")
    moment = datetime.fromisoformat(text.removesuffix("Z")) + timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if fixed else "")


async def _read_params(request: Request) -> dict[str, Any]:
    """Body as JSON or form-encoded (both SDK styles are accepted)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


class _Endpoints:
    """Request handlers; `route` wraps each with counting, injected faults and Bearer auth."""

    def __init__(self, fake: FakeTodoist) -> None:
        self.fake = fake

    def route(
        self, path: str, method: str, handler: Callable[..., Awaitable[Response]], *, bearer: bool = True
    ) -> Route:
        label = f"{method} {path.removeprefix('/api/v1')}"
        fake = self.fake

        async def endpoint(request: Request) -> Response:
            fake.requests[label] += 1
            delay, status, retry_after = fake.take_fault() if path.startswith("/api/") else (0, None, None)
            if delay:
                await asyncio.sleep(delay)
            if status is not None:
                return _fault(status, retry_after)
            if not bearer:
                return await handler(request)
            with fake._lock:
                user = fake.authenticate(request)
            if user is None:
                return _error(401, "Invalid token", "AUTH_INVALID_TOKEN")
            response = await handler(request, user)
            after = fake.take_after_fault() if path.startswith("/api/") else None
            return _fault(after, None) if after is not None else response

        return Route(path, endpoint, methods=[method])

    def routes(self) -> list[Route]:
        v1 = "/api/v1"
        return [
            self.route("/oauth/authorize", "GET", self.authorize, bearer=False),
            self.route("/oauth/access_token", "POST", self.access_token, bearer=False),
            self.route(f"{v1}/revoke", "POST", self.revoke, bearer=False),
            self.route(f"{v1}/access_tokens", "DELETE", self.delete_access_token, bearer=False),
            self.route(f"{v1}/tasks", "GET", self.list_tasks),
            self.route(f"{v1}/tasks/{{task_id}}", "GET", self.get_task),
            self.route(f"{v1}/tasks/{{task_id}}/close", "POST", self.close_task),
            self.route(f"{v1}/tasks/{{task_id}}/reopen", "POST", self.reopen_task),
            self.route(f"{v1}/user", "GET", self.get_user),
            self.route(f"{v1}/sync", "POST", self.sync),
        ]

    async def list_tasks(self, request: Request, user: FakeUser) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", PAGE_DEFAULT))
        except ValueError:
            limit = -1
        if not 1 <= limit <= PAGE_MAX:
            return _error(400, "limit must be between 1 and 200", "INVALID_ARGUMENT_VALUE", argument="limit")
        id_list = q.get("ids")
        filters = [q.get("project_id"), q.get("label"), id_list, limit]
        offset = 0
        if q.get("cursor"):
            parts = self.fake.decode(q["cursor"])
            if not parts or parts[0] != user.id or parts[2] != filters:
                return _error(400, "Invalid cursor", "INVALID_ARGUMENT_VALUE", argument="cursor")
            offset = parts[1]
        ids = set(id_list.split(",")) if id_list else None
        with self.fake._lock:
            active = [
                t
                for t in user.tasks.values()
                if t.active
                and (filters[0] is None or t.project_id == filters[0])
                and (filters[1] is None or filters[1] in t.labels)
                and (ids is None or t.id in ids)
            ]
            results = [t.to_json() for t in active[offset : offset + limit]]
        more = offset + limit < len(active)
        cursor = self.fake.encode(user.id, offset + limit, filters) if more else None
        return JSONResponse({"results": results, "next_cursor": cursor})

    @staticmethod
    def _find(user: FakeUser, request: Request) -> FakeTask | None:
        task = user.tasks.get(request.path_params["task_id"])
        return task if task is not None and not task.is_deleted else None

    async def get_task(self, request: Request, user: FakeUser) -> Response:
        with self.fake._lock:
            task = self._find(user, request)
            return JSONResponse(task.to_json()) if task else _error(404, "Task not found", "NOT_FOUND")

    async def close_task(self, request: Request, user: FakeUser) -> Response:
        with self.fake._lock:
            task = self._find(user, request)
            if task is None:
                return _error(404, "Task not found", "NOT_FOUND")
            self.fake._close(user, task)
            user.closed.append(task.id)
        return Response(status_code=204)

    async def reopen_task(self, request: Request, user: FakeUser) -> Response:
        with self.fake._lock:
            task = self._find(user, request)
            if task is None:
                return _error(404, "Task not found", "NOT_FOUND")
            task.checked, task.completed_at, task.updated_at, task.rev = False, None, _stamp(), user.bump()
        return Response(status_code=204)

    async def get_user(self, request: Request, user: FakeUser) -> Response:
        return JSONResponse(user.to_json())

    async def sync(self, request: Request, user: FakeUser) -> Response:
        params = await _read_params(request)
        if params.get("commands"):
            return self._commands(params["commands"], user)
        types = params.get("resource_types", '["all"]')
        try:
            types = json.loads(types) if isinstance(types, str) else types
        except ValueError:
            types = None
        if not isinstance(types, list):
            return _error(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", argument="resource_types")
        token = params.get("sync_token") or "*"
        parts = None if token == "*" else self.fake.decode(token)
        if token != "*" and (not parts or parts[0] != user.id):
            return _error(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", argument="sync_token")
        with self.fake._lock:
            body = self._sync_body(user, types, since=parts[1] if parts else None)
        return JSONResponse(body)

    def _commands(self, raw: Any, user: FakeUser) -> Response:
        """Sync API commands: ``item_close``/``item_complete`` only; a command's ``uuid`` runs once."""
        try:
            commands = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            commands = None
        if not isinstance(commands, list) or not 0 < len(commands) <= 100:
            return _error(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", argument="commands")
        status: dict[str, Any] = {}
        with self.fake._lock:
            for cmd in commands:
                uid = str(cmd.get("uuid", ""))
                if uid in user.command_status:  # already executed: not run again
                    status[uid] = user.command_status[uid]
                    continue
                task = user.tasks.get(str((cmd.get("args") or {}).get("id", "")))
                if cmd.get("type") not in ("item_close", "item_complete"):
                    result: Any = {
                        "error_tag": "INVALID_ARGUMENT_VALUE",
                        "error_code": 20,
                        "error": "Unknown",
                    }
                elif task is None or task.is_deleted:
                    result = {"error_tag": "ITEM_NOT_FOUND", "error_code": 22, "error": "Item not found"}
                else:
                    self.fake._close(user, task)
                    user.closed.append(task.id)
                    result = "ok"
                user.command_status[uid] = status[uid] = result
            token = self.fake.encode(user.id, user.seq)
        return JSONResponse(
            {"sync_status": status, "temp_id_mapping": {}, "sync_token": token, "full_sync": False}
        )

    def _sync_body(self, user: FakeUser, types: list[str], since: int | None) -> dict[str, Any]:
        """Full sync (`since` None): active items. Incremental: every item changed after `since`."""
        body: dict[str, Any] = {"sync_token": self.fake.encode(user.id, user.seq), "full_sync": since is None}
        if "items" in types or "all" in types:
            tasks = user.tasks.values()
            chosen = [t for t in tasks if t.active] if since is None else [t for t in tasks if t.rev > since]
            body["items"] = [t.to_json() for t in chosen]
        if "user" in types or "all" in types:
            body["user"] = user.to_json()
        for other in types:
            if other != "all":
                body.setdefault(other, [])
        if since is None:
            body["full_sync_date_utc"] = _stamp()
        return body

    async def revoke(self, request: Request) -> Response:
        if not self.fake.revoke_endpoint_enabled:
            return PlainTextResponse("Not Found", status_code=404)
        if not self.fake.check_basic(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = (await _read_params(request)).get("token")
        if not token:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        with self.fake._lock:
            self.fake.revoked_tokens.add(token)
            self.fake.revocations.append(("revoke", token))
        return Response(status_code=200)

    async def delete_access_token(self, request: Request) -> Response:
        q, fake = request.query_params, self.fake
        if q.get("client_id") != fake.client_id or q.get("client_secret") != fake.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if not q.get("access_token"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        with fake._lock:
            fake.revoked_tokens.add(q["access_token"])
            fake.revocations.append(("access_tokens", q["access_token"]))
        return Response(status_code=204)

    async def authorize(self, request: Request) -> Response:
        q, fake = request.query_params, self.fake
        redirect = q.get("redirect_uri") or fake.redirect_uri
        if q.get("client_id") != fake.client_id or not redirect or not q.get("state"):
            return PlainTextResponse("Invalid client_id, redirect_uri or state", status_code=400)
        if fake.deny_authorization:
            return RedirectResponse(_with_query(redirect, error="access_denied", state=q["state"]), 302)
        code = fake.issue_code(fake.grant_token or f"fake-oauth-{secrets.token_hex(12)}")
        return RedirectResponse(_with_query(redirect, code=code, state=q["state"]), 302)

    async def access_token(self, request: Request) -> Response:
        params, fake = await _read_params(request), self.fake
        if params.get("client_id") != fake.client_id or params.get("client_secret") != fake.client_secret:
            return JSONResponse({"error": "bad_client_credentials"}, status_code=400)
        with fake._lock:
            token = fake._codes.pop(str(params.get("code")), None)
        if token is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": token, "token_type": "Bearer"})


def _fault(status: int, retry_after: float | None) -> Response:
    if status == 410:
        return PlainTextResponse("This endpoint is deprecated.", status_code=410)
    if status == 429:
        wait = retry_after if retry_after is not None else 1
        response = _error(429, "Too many requests", "LIMITS_REACHED", retry_after=wait)
        response.headers["Retry-After"] = f"{wait:g}"
        return response
    if status in (401, 403):
        return _error(status, "Invalid token", "AUTH_INVALID_TOKEN")
    if status >= 500:
        return PlainTextResponse("Service Unavailable", status_code=status)
    return _error(status, "Injected failure", "INJECTED")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit(parts._replace(query=query))


def create_fake_todoist(
    client_id: str, client_secret: str, *, redirect_uri: str | None = None, seed: int = 0
) -> tuple[Starlette, FakeTodoist]:
    """Build the fake's ASGI app and its state object.

    Args:
        client_id: The OAuth app's client id the fake accepts.
        client_secret: The secret it accepts and signs webhooks with.
        redirect_uri: Where `/oauth/authorize` redirects when no `redirect_uri` is given.
        seed: Seed for generated ids.
    """
    fake = FakeTodoist(client_id, client_secret, redirect_uri=redirect_uri, seed=seed)
    return Starlette(routes=_Endpoints(fake).routes()), fake


class FakeTodoistServer:
    """Run the fake with uvicorn in a background thread on a free 127.0.0.1 port.

    Attributes:
        url: Root URL, e.g. "http://127.0.0.1:40123" (also `auth_url`).
        api_url: `url + "/api/v1"`, the client's base URL.
        fake: The `FakeTodoist` state and controls.
    """

    def __init__(
        self,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        *,
        redirect_uri: str | None = None,
        seed: int = 0,
    ) -> None:
        """Prepare the app; the server starts on `__enter__`."""
        self.app, self.fake = create_fake_todoist(
            client_id, client_secret, redirect_uri=redirect_uri, seed=seed
        )
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def api_url(self) -> str:
        """The API v1 root."""
        return f"{self.url}/api/v1"

    @property
    def auth_url(self) -> str:
        """The OAuth root (Todoist serves it from a different host; the fake from the same one)."""
        return self.url

    def __enter__(self) -> FakeTodoistServer:
        """Bind a free port, start serving, and wait until uvicorn is accepting connections."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without TCP_NODELAY every small response waits for the peer's delayed ACK (~40 ms).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", ws="none", backlog=4096
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="fake-todoist", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Todoist server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop uvicorn and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
