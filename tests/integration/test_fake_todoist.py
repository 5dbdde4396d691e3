"""The real Todoist client, OAuth helpers and webhook checks against the loopback FakeTodoistServer."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oo.integrations.todoist import (
    TodoistAuthError,
    TodoistClient,
    TodoistGoneError,
    normalize_task,
    parse_webhook,
    verify_signature,
)
from oo.integrations.todoist.oauth import authorize_url, exchange_code, revoke_token
from oo.integrations.todoist.webhooks import DELIVERY_ID_HEADER, SIGNATURE_HEADER
from tests.fakes.todoist import FakeTodoistServer

CLIENT_ID = "oo-test-client"
CLIENT_SECRET = "oo-test-secret"
REDIRECT = "http://app.test/oauth/callback"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTodoistServer]:
    with FakeTodoistServer(CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def new_user(server: FakeTodoistServer, tz: str = "Europe/Berlin") -> str:
    """A fresh account per test keeps tests independent on the shared server."""
    token = f"token-{secrets.token_hex(8)}"
    server.fake.add_user(token, tz=tz)
    return token


def client(
    server: FakeTodoistServer, token: str, http: httpx.AsyncClient, delays: list[float] | None = None
) -> TodoistClient:
    async def sleep(seconds: float) -> None:
        if delays is not None:
            delays.append(seconds)

    return TodoistClient(token, http, base_url=server.api_url, sleep=sleep, rng=lambda: 0.0)


@pytest.mark.anyio
async def test_oauth_code_is_single_use(server: FakeTodoistServer) -> None:
    url = authorize_url(server.auth_url, CLIENT_ID, "data:read_write", "st-1", redirect_uri=REDIRECT)
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        assert query["state"] == ["st-1"]
        token = await exchange_code(http, server.auth_url, CLIENT_ID, CLIENT_SECRET, query["code"][0])
        user = await client(server, token, http).get_user()
        assert user.timezone == "Europe/Berlin"
        with pytest.raises(TodoistAuthError):
            await exchange_code(http, server.auth_url, CLIENT_ID, CLIENT_SECRET, query["code"][0])
        with pytest.raises(TodoistAuthError):
            await exchange_code(http, server.auth_url, CLIENT_ID, "wrong", server.fake.issue_code(token))


@pytest.mark.anyio
async def test_oauth_denial_redirects_with_error(server: FakeTodoistServer) -> None:
    server.fake.deny_authorization = True
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(
                authorize_url(server.auth_url, CLIENT_ID, "data:read", "st-2", REDIRECT)
            )
    finally:
        server.fake.deny_authorization = False
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st-2"]}


@pytest.mark.anyio
async def test_list_tasks_paginates_450_tasks(server: FakeTodoistServer) -> None:
    token = new_user(server, tz="Asia/Tokyo")
    server.fake.seed_tasks(token, 450, seed=7)
    before = server.fake.requests["GET /tasks"]
    async with httpx.AsyncClient() as http:
        tasks = await client(server, token, http).list_tasks()
    assert [t.id for t in tasks] == server.fake.active_ids(token)
    assert len({t.id for t in tasks}) == 450
    assert server.fake.requests["GET /tasks"] - before == 3
    normalized = [normalize_task(t, "Asia/Tokyo") for t in tasks]
    assert {n.due_kind for n in normalized} == {"none", "date", "floating", "fixed"}
    assert {n.priority for n in normalized} == {1, 2, 3, 4}


@pytest.mark.anyio
async def test_fake_enforces_bearer_and_limit(server: FakeTodoistServer) -> None:
    token = new_user(server)
    async with httpx.AsyncClient(base_url=server.api_url) as http:
        assert (await http.get("/tasks")).status_code == 401
        assert (await http.get("/tasks", headers={"Authorization": "Bearer nope"})).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/tasks", params={"limit": 201}, headers=auth)).status_code == 400
        assert (await http.get("/tasks", params={"cursor": "forged"}, headers=auth)).status_code == 400


@pytest.mark.anyio
async def test_close_recurring_advances_while_normal_completes(server: FakeTodoistServer) -> None:
    token = new_user(server)
    normal = server.fake.add_task(token, content="Pay rent", due_date="2025-05-01", priority=4)
    recurring = server.fake.add_task(
        token,
        content="Stand-up",
        due_datetime="2025-05-01T09:30:00",
        due_string="every day",
        is_recurring=True,
    )
    async with httpx.AsyncClient() as http:
        api = client(server, token, http)
        await api.close_task(normal["id"])
        await api.close_task(recurring["id"])
        tasks = {t.id: t for t in await api.list_tasks()}
    assert normal["id"] not in tasks
    assert tasks[recurring["id"]].due is not None
    assert tasks[recurring["id"]].due.date == "2025-05-02T09:30:00"
    assert server.fake.task(token, normal["id"])["checked"] is True
    assert server.fake.closed_ids(token) == [normal["id"], recurring["id"]]


@pytest.mark.anyio
async def test_incremental_sync_returns_only_deltas(server: FakeTodoistServer) -> None:
    token = new_user(server)
    ids = server.fake.seed_tasks(token, 3, seed=3)
    done = server.fake.add_task(token, content="Book flights", due_date="2025-06-01")["id"]
    gone = server.fake.add_task(token, content="Old idea")["id"]
    async with httpx.AsyncClient() as http:
        api = client(server, token, http)
        full = await api.sync(None)
        assert full.full_sync is True
        assert sorted(t.id for t in full.items) == sorted([*ids, done, gone])
        assert full.user is not None and full.user.timezone == "Europe/Berlin"
        server.fake.complete_externally(token, done)
        server.fake.delete_externally(token, gone)
        added = server.fake.add_task(token, content="New one")["id"]
        delta = await api.sync(full.sync_token, resource_types=["items"])
        again = await api.sync(delta.sync_token, resource_types=["items"])
    assert delta.full_sync is False
    assert {t.id: (t.checked, t.is_deleted) for t in delta.items} == {
        done: (True, False),
        gone: (False, True),
        added: (False, False),
    }
    assert again.items == []


@pytest.mark.anyio
async def test_injected_429_then_success(server: FakeTodoistServer) -> None:
    token = new_user(server)
    server.fake.seed_tasks(token, 3, seed=1)
    delays: list[float] = []
    server.fake.fail_next(2, 429, retry_after=1.5)
    async with httpx.AsyncClient() as http:
        tasks = await client(server, token, http, delays).list_tasks()
    assert len(tasks) == 3
    assert delays == [1.5, 1.5]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error"), [(401, TodoistAuthError), (403, TodoistAuthError), (410, TodoistGoneError)]
)
async def test_injected_fatal_statuses(
    server: FakeTodoistServer, status: int, error: type[Exception]
) -> None:
    token = new_user(server)
    server.fake.fail_next(1, status)
    async with httpx.AsyncClient() as http:
        with pytest.raises(error):
            await client(server, token, http).get_user()


@pytest.mark.anyio
async def test_revoke_both_forms(server: FakeTodoistServer) -> None:
    first, second = new_user(server), new_user(server)
    async with httpx.AsyncClient() as http:
        await revoke_token(http, server.api_url, CLIENT_ID, CLIENT_SECRET, first)
        server.fake.revoke_endpoint_enabled = False
        try:
            await revoke_token(http, server.api_url, CLIENT_ID, CLIENT_SECRET, second)
        finally:
            server.fake.revoke_endpoint_enabled = True
        for token in (first, second):
            with pytest.raises(TodoistAuthError):
                await client(server, token, http).list_tasks()
    assert ("revoke", first) in server.fake.revocations
    assert ("access_tokens", second) in server.fake.revocations


@pytest.mark.anyio
async def test_webhook_is_signed_and_redelivered_with_same_id(server: FakeTodoistServer) -> None:
    token = new_user(server)
    task = server.fake.add_task(
        token, content="Ship it", due_date=(date.today() + timedelta(days=1)).isoformat()
    )
    received: list[tuple[str, bool, str | None]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        valid = verify_signature(request.content, request.headers.get(SIGNATURE_HEADER), CLIENT_SECRET)
        received.append((request.headers[DELIVERY_ID_HEADER], valid, parse_webhook(request.content).task_id))
        return httpx.Response(500 if len(received) == 1 else 200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        completed = server.fake.complete_externally(token, task["id"])
        delivery = await server.fake.send_webhook(
            "http://app.test/webhooks/todoist", "item:completed", completed, http=http, retries=2
        )
        forged = await server.fake.send_webhook(
            "http://app.test/webhooks/todoist", "item:completed", task["id"], http=http, secret="wrong"
        )
    assert delivery.statuses == [500, 200]
    assert received[0] == received[1] == (delivery.delivery_id, True, task["id"])
    assert received[2][1] is False
    assert forged.delivery_id != delivery.delivery_id


@pytest.mark.anyio
async def test_injected_delay_holds_the_answer(server: FakeTodoistServer) -> None:
    token = new_user(server)
    server.fake.delay_next(1, 0.2)
    async with httpx.AsyncClient() as http:
        started = time.perf_counter()
        await client(server, token, http).get_user()
        assert time.perf_counter() - started >= 0.2
