"""Calendar-aware push in a real browser: the /connect row, no push while busy, push → open → Done, Done on the notification.

Our own app (production build) with Google sign-in on the real OpenID provider (which also grants
the calendar.freebusy scope, refreshes, revokes and introspects), the fake FreeBusy API checking
tokens at that provider, and the local push service that verifies and decrypts every message.
The push job runs every 10 s. Headless Chromium has no push service, so the decrypted payload
is handed to the real service worker's handlers (``self.ooPush``), which show the notification
and post the Done from inside the worker with the browser's own session cookie.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from oo.crypto import Keyring
from oo.integrations.google_calendar import SCOPE
from tests.e2e.conftest import at, sign_in_demo
from tests.fakes.google_calendar import FakeGoogleCalendarServer
from tests.fakes.push_service import FakePushService
from tests.support.app_server import AppServer, free_port
from tests.support.oidc import OidcProvider, expected_sub, playwright_login

pytestmark = pytest.mark.e2e
CLIENT_ID, CLIENT_SECRET = "oo-e2e-cal", "oo-e2e-cal-secret-0123456789abcdef"
ROUND_SECONDS = 10


@pytest.fixture(scope="module")
def cal_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def cal_idp(cal_port) -> Iterator[OidcProvider]:
    uris = [f"http://localhost:{cal_port}/auth/{p}/callback" for p in ("google", "google-calendar")]
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, uris, extra_scopes=[SCOPE]) as provider:
        yield provider


@pytest.fixture(scope="module")
def freebusy(cal_idp) -> Iterator[FakeGoogleCalendarServer]:
    introspection = httpx.get(cal_idp.discovery_url).json()["introspection_endpoint"]
    with FakeGoogleCalendarServer(CLIENT_ID, CLIENT_SECRET, introspection_url=introspection) as server:
        yield server


@pytest.fixture(scope="module")
def pusher() -> Iterator[FakePushService]:
    with FakePushService() as service:
        yield service


@pytest.fixture(scope="module")
def cal_app(tmp_path_factory, cal_idp, freebusy, pusher, cal_port) -> Iterator[AppServer]:
    env = {
        "OO_ADVICE_DEFAULT": "false",  # task journeys: no advice drawn in between (test_advice.py)
        "OO_DEMO": "true",
        "OO_GOOGLE_CLIENT_ID": CLIENT_ID,
        "OO_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OO_GOOGLE_DISCOVERY_URL": cal_idp.discovery_url,
        "OO_GOOGLE_CALENDAR_API_URL": freebusy.api_url,
        "OO_GOOGLE_CALENDAR_CACHE_SECONDS": "0",
        "OO_PUSH_ALLOWED_HOSTS": pusher.origin,
        "OO_PUSH_INTERVAL_SECONDS": str(ROUND_SECONDS),
        "OO_DEFAULT_QUIET_HOURS": "",
        "OO_ADMIN_SEED_EMAIL": "cal-admin@example.test",
    }
    with AppServer(tmp_path_factory.mktemp("oo-cal"), env=env, port=cal_port) as server:
        yield server


def db(app: AppServer) -> sqlite3.Connection:
    return sqlite3.connect(app.data_dir / "oo.db", isolation_level=None)


def user_id(app: AppServer) -> int:
    return db(app).execute("select max(id) from user").fetchone()[0]


def connect_demo_tasks(page: Page, app: AppServer) -> int:
    sign_in_demo(page, app)
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    return user_id(app)


def connect_calendar(page: Page, login: str) -> None:
    row = page.get_by_test_id("source-google_calendar")
    expect(row.get_by_test_id("status-google_calendar")).to_have_text("Not connected")
    row.get_by_role("button", name="Connect").click()
    playwright_login(page, login)
    page.wait_for_url(at("/connect"))
    expect(page.get_by_test_id("connect-message")).to_contain_text("Google Calendar connected")
    expect(row.get_by_test_id("status-google_calendar")).to_have_text("Connected")


def subscribe(page: Page, app: AppServer, pusher: FakePushService) -> dict:
    """This browser's session subscribes a device at the local push service (as Notify me does)."""
    sub = pusher.new_subscription()
    resp = page.request.post(f"{app.url}/api/v1/push/subscribe", data=sub, headers={"origin": app.url})
    assert resp.status == 201, resp.text()
    return sub


def wait_for_push(pusher: FakePushService, sub: dict, timeout: float = 4 * ROUND_SECONDS) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = pusher.messages(pusher.sub_id(sub))
        if messages:
            return messages[-1].payload
        time.sleep(0.5)
    raise AssertionError("no push arrived")


def test_calendar_row_connects_and_disconnect_revokes_at_google(page, cal_app, cal_idp):
    sign_in_demo(page, cal_app)
    connect_calendar(page, "cal-row")
    uid = user_id(cal_app)
    blob = (
        db(cal_app)
        .execute(
            "select credentials from integration where user_id = ? and provider = 'google_calendar'", (uid,)
        )
        .fetchone()[0]
    )
    secret = (cal_app.data_dir / "secret_key").read_text().strip()
    refresh_token = json.loads(Keyring.derived(secret).decrypt(blob))["refresh_token"]
    assert refresh_token not in blob

    page.get_by_test_id("source-google_calendar").get_by_role("button", name="Disconnect").click()
    expect(page.get_by_test_id("connect-message")).to_have_text("Google Calendar disconnected.")
    expect(page.get_by_test_id("status-google_calendar")).to_have_text("Not connected")
    token_url = httpx.get(cal_idp.discovery_url).json()["token_endpoint"]
    r = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_no_push_while_busy_then_push_open_done(page, cal_app, freebusy, pusher):
    uid = connect_demo_tasks(page, cal_app)
    now = datetime.now(UTC)
    freebusy.fake.set_busy(expected_sub("cal-busy"), [(now - timedelta(minutes=5), now + timedelta(hours=1))])
    connect_calendar(page, "cal-busy")
    sub = subscribe(page, cal_app, pusher)
    time.sleep(2.5 * ROUND_SECONDS)  # at least two rounds while busy
    assert pusher.messages(pusher.sub_id(sub)) == []
    assert (
        db(cal_app).execute("select count(*) from push_decision where user_id = ?", (uid,)).fetchone()[0] == 0
    )

    freebusy.fake.set_busy(expected_sub("cal-busy"), [])  # the meeting is over
    payload = wait_for_push(pusher, sub)
    assert payload["url"] == f"/tip?tip={payload['tip_id']}"

    page.goto(f"{cal_app.url}{payload['url']}")  # what a tap on the notification opens
    tip = page.get_by_test_id("tip")
    expect(tip).to_have_text(payload["body"])
    tip.click()
    page.get_by_role("button", name="Done", exact=True).click()
    expect(tip).not_to_have_text(payload["body"])
    conn = db(cal_app)
    assert conn.execute(
        "select reaction from tip_feedback where tip_id = ? and user_id = ?", (payload["tip_id"], uid)
    ).fetchall() == [("done",)]
    assert conn.execute("select channel from tip_view where id = ?", (payload["tip_id"],)).fetchone() == (
        "push",
    )
    opened, reason = conn.execute(
        "select opened_at, reason from push_decision where tip_id = ?", (payload["tip_id"],)
    ).fetchone()
    assert opened is not None and reason == "first"


def test_done_on_the_notification_itself_records_without_opening_a_tab(page, context, cal_app, pusher):
    uid = connect_demo_tasks(page, cal_app)
    context.grant_permissions(["notifications"], origin=cal_app.url)
    page.evaluate(
        "async () => { await navigator.serviceWorker.register('/sw.js'); await navigator.serviceWorker.ready; }"
    )
    [worker] = [w for w in context.service_workers if w.url.endswith("/sw.js")]
    sub = subscribe(page, cal_app, pusher)
    payload = wait_for_push(pusher, sub)
    pages_before = len(context.pages)

    shown = worker.evaluate(
        """async (payload) => {
          await self.ooPush.showTip(payload);
          const [n] = await self.registration.getNotifications({tag: payload.tag});
          const seen = {title: n.title, body: n.body, actions: n.actions.map((a) => a.action), data: n.data};
          seen.outcome = await self.ooPush.onClick(n, "done");
          return seen;
        }""",
        payload,
    )
    assert shown["actions"] == ["done", "snooze"] and shown["body"] == payload["body"]
    assert shown["data"]["url"] == payload["url"] and shown["outcome"] == "recorded"
    assert len(context.pages) == pages_before  # no tab was opened
    conn = db(cal_app)
    assert conn.execute(
        "select reaction from tip_feedback where tip_id = ? and user_id = ?", (payload["tip_id"], uid)
    ).fetchall() == [("done",)]
    assert conn.execute(
        "select reacted_via, reaction from push_decision where tip_id = ?", (payload["tip_id"],)
    ).fetchone() == ("notification", "done")
    again = worker.evaluate("(ref) => self.ooPush.postReaction(ref, 'done')", payload["ref"])
    assert again == "recorded"  # the same press twice is one reaction
    assert conn.execute("select count(*) from tip_feedback where user_id = ?", (uid,)).fetchone()[0] == 1


def test_admin_push_page_shows_the_funnel_and_one_users_decisions(page, cal_app):
    conn = db(cal_app)
    if not conn.execute("select count(*) from push_decision").fetchone()[0]:
        pytest.fail("run with the push tests above: they make the decisions this page shows")
    uid = conn.execute("select user_id from push_decision order by id limit 1").fetchone()[0]
    page.goto(f"{cal_app.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/interaction/.*"))
    playwright_login(page, "cal-admin@example.test")
    page.wait_for_url(at("/tip"))
    page.goto(f"{cal_app.url}/admin/push")
    expect(page.get_by_role("heading", name="Push timing", exact=True)).to_be_visible()
    expect(page.get_by_test_id("chart-push-funnel")).to_be_visible()
    expect(page.get_by_test_id("table-push-funnel").locator("tbody tr").first).to_be_visible()
    page.locator("input[name=user_id]").fill(str(uid))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("table-push-decisions")).to_contain_text("first push: always sent")
    expect(page.get_by_test_id("chart-push-model")).to_be_visible()
