"""Todoist in a real browser against the production build and the loopback fake Todoist.

A new user connects Todoist, sees a Todoist task as the tip, presses Done and the task is closed
at the fake; a revoked token asks for a reconnect; disconnect revokes. Webhooks are posted to the
running app signed by the fake. The app here is our own (Todoist configured, a short sync period),
so the shared demo-mode app of conftest.py stays as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from oo.integrations.todoist.webhooks import compute_signature
from oo.state.connect import ConnectState
from tests.e2e.conftest import at, sign_in_demo
from tests.fakes.todoist import FakeTodoistServer
from tests.support.app_server import AppServer
from tests.support.socket_client import call_handler

pytestmark = pytest.mark.e2e
CLIENT_ID, CLIENT_SECRET = "oo-e2e-todoist", "oo-e2e-todoist-secret-0123456789"


@pytest.fixture(scope="session")
def todoist() -> Iterator[FakeTodoistServer]:
    with FakeTodoistServer(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture(scope="session")
def todoist_app(tmp_path_factory, todoist) -> Iterator[AppServer]:
    env = {
        "OO_ADVICE_DEFAULT": "false",  # task journeys: no advice drawn in between (test_advice.py)
        "OO_DEMO": "true",
        "OO_TODOIST_CLIENT_ID": CLIENT_ID,
        "OO_TODOIST_CLIENT_SECRET": CLIENT_SECRET,
        "OO_TODOIST_AUTH_URL": todoist.auth_url,
        "OO_TODOIST_API_URL": todoist.api_url,
        "OO_SYNC_INTERVAL_SECONDS": "5",
    }
    with AppServer(tmp_path_factory.mktemp("oo-todoist"), env=env) as server:
        yield server


@pytest.fixture
def account(todoist) -> Iterator[str]:
    """A fresh Todoist account whose token the next authorization grants."""
    token = f"e2e-{secrets.token_hex(12)}"
    todoist.fake.add_user(token, tz="Europe/Berlin")
    todoist.fake.grant_token = token
    todoist.fake.deny_authorization = False
    yield token
    todoist.fake.grant_token = None


def eventually(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def db(app: AppServer) -> sqlite3.Connection:
    return sqlite3.connect(app.data_dir / "oo.db")


def connect_todoist(page: Page, app: AppServer) -> None:
    """New user: demo sign-in, then Connect on the Todoist row through the OAuth round trip."""
    sign_in_demo(page, app)
    row = page.get_by_test_id("source-todoist")
    expect(page.get_by_test_id("status-todoist")).to_have_text("Not connected")
    row.get_by_role("button", name="Connect").click()
    page.wait_for_url(at("/connect"))
    assert "todoist=connected" in page.url
    expect(page.get_by_test_id("connect-message")).to_contain_text("Todoist connected")
    expect(page.get_by_test_id("status-todoist")).to_have_text("Connected")


def test_connect_tip_done_closes_it_and_disconnect_revokes(page, todoist_app, todoist, account):
    task = todoist.fake.add_task(account, content="Renew the passport", priority=4, due_date="2030-01-01")
    connect_todoist(page, todoist_app)

    page.get_by_role("button", name="Show my tip").click()
    page.wait_for_url(at("/tip"))
    tip = page.get_by_test_id("tip")
    expect(tip).to_have_text("Renew the passport")
    tip.click()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("tip-empty")).to_be_visible()
    eventually(lambda: todoist.fake.closed_ids(account) == [task["id"]], timeout=30)  # after the undo window
    assert todoist.fake.task(account, task["id"])["checked"] is True

    files = list(todoist_app.data_dir.glob("oo.db*"))
    assert files and all(account.encode() not in f.read_bytes() for f in files), "raw token in the database"

    page.goto(f"{todoist_app.url}/connect")
    page.get_by_test_id("source-todoist").get_by_role("button", name="Disconnect").click()
    expect(page.get_by_test_id("status-todoist")).to_have_text("Not connected")
    expect(page.get_by_test_id("connect-message")).to_contain_text("Todoist disconnected")
    assert ("revoke", account) in todoist.fake.revocations
    assert (
        db(todoist_app).execute("select count(*) from integration where provider = 'todoist'").fetchone()[0]
        == 0
    )


def test_a_revoked_token_asks_for_a_reconnect_which_restores_it(page, todoist_app, todoist, account):
    todoist.fake.add_task(account, content="Book the vet")
    connect_todoist(page, todoist_app)
    todoist.fake.revoked_tokens.add(account)  # the user removed oO in Todoist's settings
    external_id = todoist.fake.user(account).id
    eventually(
        lambda: db(todoist_app)
        .execute(  # the scheduler's next sync (every 5 s here) gets a 401
            "select status from integration where external_user_id = ?", (external_id,)
        )
        .fetchall()
        == [("needs_reconnect",)],
        timeout=30,
    )
    page.goto(f"{todoist_app.url}/tip")
    expect(page.get_by_test_id("tip-reconnect")).to_be_visible()

    page.goto(f"{todoist_app.url}/connect")
    expect(page.get_by_test_id("status-todoist")).to_have_text("Needs reconnect")
    fresh = f"e2e-{secrets.token_hex(12)}"
    todoist.fake.add_user(fresh)
    todoist.fake.add_task(fresh, content="Book the vet")
    todoist.fake.grant_token = fresh
    page.get_by_test_id("source-todoist").get_by_role("button", name="Reconnect").click()
    page.wait_for_url(at("/connect"))
    expect(page.get_by_test_id("status-todoist")).to_have_text("Connected")
    page.goto(f"{todoist_app.url}/tip")
    expect(page.get_by_test_id("tip")).to_have_text("Book the vet")


def test_a_denied_authorization_says_so_and_connects_nothing(page, todoist_app, todoist, account):
    todoist.fake.deny_authorization = True
    sign_in_demo(page, todoist_app)
    page.get_by_test_id("source-todoist").get_by_role("button", name="Connect").click()
    page.wait_for_url(at("/connect"))
    assert "todoist=denied" in page.url
    expect(page.get_by_test_id("connect-message")).to_contain_text("not granted")
    expect(page.get_by_test_id("status-todoist")).to_have_text("Not connected")


def deliver(todoist: FakeTodoistServer, url: str, event: str, task: dict | str, **kwargs):
    """Post a signed delivery from the fake (in a thread: Playwright owns this thread's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, todoist.fake.send_webhook(url, event, task, **kwargs)).result(
            timeout=30
        )


def test_webhooks_are_verified_idempotent_and_reward_a_completed_tip(page, todoist_app, todoist, account):
    task = todoist.fake.add_task(account, content="Call the bank", priority=4)
    connect_todoist(page, todoist_app)
    page.goto(f"{todoist_app.url}/tip")
    expect(page.get_by_test_id("tip")).to_have_text("Call the bank")  # shown as a tip
    url = f"{todoist_app.url}/webhooks/todoist"

    assert deliver(todoist, url, "item:completed", task["id"], secret="forged").statuses == [401]
    body = b'{"event_name": "item:completed"'
    bad = httpx.post(
        url, content=body, headers={"X-Todoist-Hmac-SHA256": compute_signature(body, CLIENT_SECRET)}
    )
    assert bad.status_code == 400

    todoist.fake.complete_externally(account, task["id"])
    delivery = deliver(todoist, url, "item:completed", task["id"])
    assert delivery.statuses == [200]
    replay = deliver(todoist, url, "item:completed", task["id"], delivery_id=delivery.delivery_id)
    assert replay.statuses == [200]

    def rewards() -> list[dict]:
        rows = (
            db(todoist_app)
            .execute("select data from event where subject = 'signals.task.completed'")
            .fetchall()
        )
        return [json.loads(r[0]) for r in rows if json.loads(r[0]).get("delivery_id") == delivery.delivery_id]

    eventually(lambda: len(rewards()) == 1)
    assert rewards()[0]["external"] is True
    eventually(
        lambda: db(todoist_app)
        .execute("select count(*) from task where external_id = ?", (task["id"],))
        .fetchone()[0]
        == 0
    )


def test_handlers_only_ever_touch_the_callers_own_todoist(page, todoist_app, todoist, account):
    connect_todoist(page, todoist_app)
    name = f"{ConnectState.get_full_name()}.disconnect"
    call_handler(todoist_app.url, name, {"provider": "todoist"})  # no session
    call_handler(todoist_app.url, name, {"provider": ["todoist"]})  # not even a string
    resp = httpx.post(f"{todoist_app.url}/auth/demo", headers={"origin": todoist_app.url})
    stranger = f"oo_session={resp.cookies['oo_session']}"
    call_handler(todoist_app.url, name, {"provider": "todoist"}, cookie=stranger)
    mine = (
        db(todoist_app)
        .execute(
            "select status from integration where provider = 'todoist' and external_user_id = ?",
            (todoist.fake.user(account).id,),
        )
        .fetchall()
    )
    assert mine == [("connected",)]
    assert ("revoke", account) not in todoist.fake.revocations
    page.reload()
    expect(page.get_by_test_id("status-todoist")).to_have_text("Connected")
