"""TodoistClient over httpx.MockTransport: pagination, retries, error mapping and payload parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from oo.integrations.todoist import (
    TodoistAuthError,
    TodoistClient,
    TodoistError,
    TodoistGoneError,
    TodoistUnavailable,
)
from oo.integrations.todoist.client import TIMEOUT

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "todoist"
API_URL = "https://api.todoist.com/api/v1"
TOKEN = "secret-token-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> tuple[TodoistClient, list[float], list[httpx.Request]]:
    """A client whose sleeps are recorded, and the list of requests it sent."""
    delays: list[float] = []
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(recording))
    kwargs.setdefault("rng", lambda: 0.5)
    return TodoistClient(TOKEN, http, sleep=sleep, **kwargs), delays, seen


def sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    remaining = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = remaining.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


@pytest.mark.anyio
async def test_list_tasks_reads_captured_page() -> None:
    page = {**load_fixture("tasks_page1.json"), "next_cursor": None}
    client, _, _ = make_client(lambda request: httpx.Response(200, json=page))
    tasks = await client.list_tasks()
    assert [t.id for t in tasks] == [item["id"] for item in page["results"]]


@pytest.mark.anyio
async def test_list_tasks_follows_cursor_to_the_end() -> None:
    page1, page2 = load_fixture("tasks_page1.json"), load_fixture("tasks_page2.json")

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        return httpx.Response(200, json=page2 if cursor == page1["next_cursor"] else page1)

    client, _, seen = make_client(handler)
    tasks = await client.list_tasks()
    assert [t.id for t in tasks] == [t["id"] for t in page1["results"] + page2["results"]]
    assert [r.url.params.get("limit") for r in seen] == ["200", "200"]
    assert [r.url.params.get("cursor") for r in seen] == [None, page1["next_cursor"]]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert str(seen[0].url).startswith(f"{API_URL}/tasks?")


@pytest.mark.anyio
async def test_list_tasks_stops_on_a_repeated_cursor() -> None:
    page = load_fixture("tasks_page1.json")
    client, _, _ = make_client(lambda request: httpx.Response(200, json=page))
    with pytest.raises(TodoistError, match="cursor"):
        await client.list_tasks()


@pytest.mark.anyio
async def test_list_tasks_ignores_unknown_fields() -> None:
    page = load_fixture("tasks_page2.json")
    page["results"][0]["brand_new_field"] = {"nested": [1, 2]}
    page["future_top_level"] = True
    client, _, _ = make_client(lambda request: httpx.Response(200, json=page))
    tasks = await client.list_tasks()
    assert tasks[0].content == "Buy birthday gift for Sam"
    assert not hasattr(tasks[0], "brand_new_field")


@pytest.mark.anyio
async def test_retry_on_429_honours_retry_after() -> None:
    ok = httpx.Response(200, json=load_fixture("user.json"))
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "2"}),
        ok,
    )
    client, delays, seen = make_client(handler)
    user = await client.get_user()
    assert user.id == "2671355"
    assert delays == [7.0, 2.0]
    assert len(seen) == 3


@pytest.mark.anyio
async def test_retry_after_is_capped_and_body_hint_used() -> None:
    body = {"error": "Too many requests", "error_extra": {"retry_after": 3}}
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(429, json=body),
        httpx.Response(200, json=load_fixture("user.json")),
    )
    client, delays, _ = make_client(handler, max_retry_after=60)
    await client.get_user()
    assert delays == [60.0, 3.0]


@pytest.mark.anyio
async def test_5xx_backoff_is_exponential_with_full_jitter() -> None:
    handler = sequence(
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(504),
        httpx.Response(200, json=load_fixture("user.json")),
    )
    client, delays, _ = make_client(handler, rng=lambda: 0.5)
    await client.get_user()
    assert delays == [0.25, 0.5, 1.0]


@pytest.mark.anyio
async def test_transport_errors_are_retried() -> None:
    handler = sequence(httpx.ConnectError("refused"), httpx.Response(200, json=load_fixture("user.json")))
    client, delays, _ = make_client(handler, rng=lambda: 0.0)
    assert (await client.get_user()).email == "ada@example.com"
    assert delays == [0.0]


@pytest.mark.anyio
async def test_exhausted_retries_raise_unavailable() -> None:
    client, delays, seen = make_client(lambda request: httpx.Response(503), max_attempts=4)
    with pytest.raises(TodoistUnavailable) as info:
        await client.list_tasks()
    assert len(seen) == 4
    assert len(delays) == 3
    assert info.value.status == 503
    assert TOKEN not in str(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_raise_auth_error_without_retry(status: int) -> None:
    client, delays, seen = make_client(lambda request: httpx.Response(status, text=f"bad token {TOKEN}"))
    with pytest.raises(TodoistAuthError) as info:
        await client.list_tasks()
    assert info.value.status == status
    assert len(seen) == 1
    assert delays == []
    assert TOKEN not in str(info.value)
    assert TOKEN not in info.value.body_excerpt


@pytest.mark.anyio
async def test_gone_raises_clear_error() -> None:
    client, _, _ = make_client(lambda request: httpx.Response(410, text="This endpoint is deprecated."))
    with pytest.raises(TodoistGoneError, match="410 Gone") as info:
        await client.sync(None)
    assert info.value.body_excerpt == "This endpoint is deprecated."


@pytest.mark.anyio
async def test_other_4xx_raise_todoist_error_with_excerpt() -> None:
    client, _, seen = make_client(lambda request: httpx.Response(404, text="Task not found"))
    with pytest.raises(TodoistError) as info:
        await client.close_task("6X7rM8997g3RQmvh")
    assert type(info.value) is TodoistError
    assert info.value.status == 404
    assert "Task not found" in str(info.value)
    assert len(seen) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 204])
async def test_close_task_posts_and_accepts_any_2xx(status: int) -> None:
    client, _, seen = make_client(lambda request: httpx.Response(status))
    await client.close_task("6X7rM8997g3RQmvh")
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/api/v1/tasks/6X7rM8997g3RQmvh/close"


@pytest.mark.anyio
async def test_close_task_is_not_retried_when_it_may_have_run() -> None:
    handler = sequence(httpx.ReadTimeout("slow"), httpx.Response(204))
    client, _, seen = make_client(handler)
    with pytest.raises(TodoistUnavailable, match="not retried"):
        await client.close_task("6X7rfFVPjhvv84XG")
    assert len(seen) == 1


@pytest.mark.anyio
async def test_close_task_retries_unprocessed_answers_only() -> None:
    client, _, seen = make_client(sequence(httpx.Response(503), httpx.Response(204)))
    await client.close_task("a")
    assert len(seen) == 2
    client, _, seen = make_client(sequence(httpx.Response(502), httpx.Response(204)))
    with pytest.raises(TodoistUnavailable):
        await client.close_task("a")
    assert len(seen) == 1


@pytest.mark.anyio
async def test_sync_full_is_form_encoded_with_star() -> None:
    client, _, seen = make_client(lambda request: httpx.Response(200, json=load_fixture("sync_full.json")))
    result = await client.sync(None)
    form = parse_qs(seen[0].content.decode())
    assert seen[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form == {"sync_token": ["*"], "resource_types": ['["items", "user"]']}
    assert result.full_sync is True
    assert result.sync_token.startswith("aLGJg")
    assert [t.id for t in result.items] == ["6X7rM8997g3RQmvh", "6X7rfFVPjhvv84XG"]
    assert result.user is not None and result.user.timezone == "Europe/Berlin"


@pytest.mark.anyio
async def test_sync_incremental_reports_checked_and_deleted() -> None:
    client, _, seen = make_client(
        lambda request: httpx.Response(200, json=load_fixture("sync_incremental.json"))
    )
    result = await client.sync("aLGJg_previous", resource_types=["items"])
    form = parse_qs(seen[0].content.decode())
    assert form["sync_token"] == ["aLGJg_previous"]
    assert form["resource_types"] == ['["items"]']
    assert result.full_sync is False
    assert result.user is None
    assert [(t.checked, t.is_deleted) for t in result.items] == [(True, False), (False, True), (False, False)]


@pytest.mark.anyio
async def test_get_user_reads_timezone_from_tz_info() -> None:
    client, _, seen = make_client(lambda request: httpx.Response(200, json=load_fixture("user.json")))
    user = await client.get_user()
    assert (user.id, user.email, user.full_name, user.timezone) == (
        "2671355",
        "ada@example.com",
        "Ada Lovelace",
        "Europe/Berlin",
    )
    assert seen[0].url.path == "/api/v1/user"


@pytest.mark.anyio
async def test_unexpected_payload_raises_todoist_error() -> None:
    client, _, _ = make_client(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(TodoistError, match="unexpected payload"):
        await client.get_user()


@pytest.mark.anyio
async def test_requests_carry_explicit_timeouts() -> None:
    client, _, seen = make_client(lambda request: httpx.Response(200, json=load_fixture("user.json")))
    await client.get_user()
    assert seen[0].extensions["timeout"] == TIMEOUT.as_dict()


def test_repr_hides_token() -> None:
    client = TodoistClient(TOKEN, httpx.AsyncClient())
    assert TOKEN not in repr(client)
