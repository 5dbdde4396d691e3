"""Issue 13 in a real browser: a first run with no stumbles, polish, your data, and Undo.

The app here runs as a newcomer starts it: no ``OO_BASE_URL`` (so both loopback names must work),
demo mode with ``OO_DEMO_ADMIN=true``, and Todoist configured against the loopback fake.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fakes.todoist import FakeTodoistServer
from tests.support.app_server import AppServer, free_port

pytestmark = pytest.mark.e2e
CLIENT_ID, CLIENT_SECRET = "oo-e2e-yours", "oo-e2e-yours-secret-0123456789abc"


@pytest.fixture(scope="module")
def todoist() -> Iterator[FakeTodoistServer]:
    with FakeTodoistServer(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, todoist) -> Iterator[AppServer]:
    port = free_port()
    env = {
        "OO_ADVICE_DEFAULT": "false",  # task journeys: no advice drawn in between (test_advice.py)
        "OO_BASE_URL": "",  # as `make run` on a fresh clone: no base URL configured
        "OO_DEMO": "true",
        "OO_DEMO_ADMIN": "true",
        "OO_TODOIST_CLIENT_ID": CLIENT_ID,
        "OO_TODOIST_CLIENT_SECRET": CLIENT_SECRET,
        "OO_TODOIST_AUTH_URL": todoist.auth_url,
        "OO_TODOIST_API_URL": todoist.api_url,
    }
    with AppServer(tmp_path_factory.mktemp("oo-yours"), env=env, port=port) as server:
        yield server


def base(app: AppServer, name: str) -> str:
    return f"http://{name}:{app.port}"


def db(app: AppServer) -> sqlite3.Connection:
    return sqlite3.connect(app.data_dir / "oo.db", isolation_level=None)


def eventually(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def on(url: str, path: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(url)}{re.escape(path)}/?(\?.*)?$")


# -- 1. First run ---------------------------------------------------------------------------------


def test_make_run_prints_where_to_open_oo(first_run):
    log = first_run.log_path.read_text()
    assert (
        f"oO is running: open http://localhost:{first_run.port} (or http://127.0.0.1:{first_run.port})" in log
    )
    assert "Demo admin is on" in log
    for misleading in ("App running at", "uv run reflex run", "51/50", "Compiling:"):
        assert misleading not in log, misleading


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_both_loopback_names_work_end_to_end(page, context, first_run, name):
    url = base(first_run, name)
    page.goto(f"{url}/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.wait_for_url(on(url, "/connect"))  # the session cookie landed on this very name
    assert [c["domain"] for c in context.cookies() if c["name"] == "oo_session"] == [name]
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")  # the websocket works
    page.goto(f"{url}/tip")
    tip = page.get_by_test_id("tip")
    first = tip.inner_text()
    tip.click()
    page.get_by_role("button", name="Done", exact=True).click()
    expect(tip).not_to_have_text(first)
    page.goto(f"{url}/admin")  # OO_DEMO_ADMIN: the demo user may open the console
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto(f"{url}/connect")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(on(url, "/signin"))


def test_foreign_origins_are_still_refused(first_run):
    r = httpx.post(f"{base(first_run, '127.0.0.1')}/auth/demo", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


# -- 2. Polish ------------------------------------------------------------------------------------


def open_tip(page: Page, app: AppServer) -> None:
    url = base(app, "localhost")
    page.goto(f"{url}/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.wait_for_url(on(url, "/connect"))
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.goto(f"{url}/tip")
    expect(page.get_by_test_id("tip")).to_be_visible()


def test_escape_closes_the_reactions_and_more_says_less(page, first_run):
    open_tip(page, first_run)
    page.get_by_test_id("tip").click()
    done = page.get_by_role("button", name="Done", exact=True)
    expect(done).to_be_visible()
    done.focus()
    page.keyboard.press("Escape")
    expect(done).to_be_hidden()
    more = page.get_by_test_id("tip-more")
    expect(more).to_have_text("More")
    more.click()
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_be_visible()
    expect(more).to_have_text("Less")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_be_hidden()
    expect(more).to_have_text("More")


def test_quiet_hours_field_has_a_visible_label(page, first_run):
    open_tip(page, first_run)
    page.goto(f"{base(first_run, 'localhost')}/connect")
    field = page.get_by_label("Quiet hours")
    expect(field).to_be_visible()
    expect(page.get_by_text("Quiet hours", exact=True)).to_be_visible()
    field.fill("23-7")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("account-message")).to_have_text("Quiet hours saved: 23-7.")


def test_offline_notice_within_seconds_and_a_queued_reaction(page, context, first_run):
    open_tip(page, first_run)
    tip = page.get_by_test_id("tip")
    first = tip.inner_text()
    tip.click()
    expect(page.get_by_role("button", name="Done", exact=True)).to_be_visible()
    expect(page.get_by_test_id("tip-offline")).to_be_hidden()
    context.set_offline(True)
    expect(page.get_by_test_id("tip-offline")).to_be_visible(timeout=3_000)
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_test_id("tip-queued")).to_be_visible(timeout=2_000)
    context.set_offline(False)
    expect(page.get_by_test_id("tip-offline")).to_be_hidden(timeout=30_000)
    expect(tip).not_to_have_text(first, timeout=30_000)  # sent once when back
    expect(page.get_by_test_id("tip-queued")).to_be_hidden(timeout=10_000)


def test_favicon_is_served(first_run):
    r = httpx.get(f"{base(first_run, 'localhost')}/favicon.ico")
    assert r.status_code == 200 and r.content[:4] == b"\x00\x00\x01\x00"


BACKGROUND = """(sel) => {
  for (let e = document.querySelector(sel); e; e = e.parentElement) {
    const b = getComputedStyle(e).backgroundColor;
    if (b !== 'rgba(0, 0, 0, 0)') return b;
  }
  return null;
}"""


def test_the_404_page_is_black_and_leads_home(page, first_run):
    url = base(first_run, "localhost")
    page.goto(f"{url}/no-such-page")
    expect(page.get_by_test_id("not-found")).to_have_text("Nothing here.")
    assert page.evaluate(BACKGROUND, "[data-testid=not-found]") == "rgb(0, 0, 0)"
    page.get_by_role("link", name="Back to your tip").click()
    page.wait_for_url(on(url, "/signin"))  # signed out: the tip sends you to sign in


def test_signed_out_tip_shows_no_chrome_before_the_redirect(page, first_run):
    page.add_init_script(
        """
        new MutationObserver(() => {
          if (document.querySelector('[aria-label="Your sources"], [data-testid="tip-more"]'))
            sessionStorage.setItem('chrome-seen', '1');
        }).observe(document, {subtree: true, childList: true});
        """
    )
    url = base(first_run, "localhost")
    page.goto(f"{url}/tip")
    page.wait_for_url(on(url, "/signin"))
    expect(page.get_by_role("button", name="Try the demo")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('chrome-seen')") is None


def test_legal_texts_tell_the_truth_for_every_sign_in_path(page, first_run):
    url = base(first_run, "localhost")
    page.goto(f"{url}/legal/terms")
    terms = page.locator("body").inner_text()
    assert "demo account" in terms and "Consent is implicit" in terms
    assert "asked to accept" not in terms
    page.goto(f"{url}/legal/privacy")
    privacy = page.locator("body").inner_text()
    assert "revokes our access at Todoist (and Google)" not in privacy
    assert "no Google or Apple token" in privacy and "Download my data" in privacy


# -- 3. Your data ---------------------------------------------------------------------------------


def user_id_of(app: AppServer) -> int:
    return db(app).execute("select max(id) from user").fetchone()[0]


def react_done(page: Page, app: AppServer, uid: int) -> None:
    """Done on the tip, then wait for its undo window to pass (the learner learns it then)."""
    tip = page.get_by_test_id("tip")
    shown = tip.inner_text()
    tip.click()
    page.get_by_role("button", name="Done", exact=True).click()
    expect(tip).not_to_have_text(shown)
    learned = "select count(*) from model_state where user_id = ?"
    eventually(lambda: db(app).execute(learned, (uid,)).fetchone()[0] > 0, timeout=25)


def test_download_my_data_has_my_tasks_and_reactions_and_no_secret(page, context, first_run):
    open_tip(page, first_run)
    uid = user_id_of(first_run)
    react_done(page, first_run, uid)
    page.goto(f"{base(first_run, 'localhost')}/connect")
    expect(page.get_by_test_id("learned")).to_contain_text("Learned from 1 reaction.")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data").click()
    download = info.value
    assert download.suggested_filename.startswith("oo-my-data-")
    data = json.loads(Path(download.path()).read_text())
    assert data["profile"]["id"] == uid
    tasks = db(first_run).execute("select content from task where user_id = ?", (uid,)).fetchall()
    assert {t["content"] for t in data["tasks"]} == {c for (c,) in tasks}
    assert [r["reaction"] for t in data["tips"] for r in t["reactions"]] == ["done"]
    text = json.dumps(data)
    session_cookie = next(c["value"] for c in context.cookies() if c["name"] == "oo_session")
    assert session_cookie not in text and "credentials" not in text


def test_reset_what_oo_learned_asks_first_and_leaves_no_model_row(page, first_run):
    open_tip(page, first_run)
    uid = user_id_of(first_run)
    react_done(page, first_run, uid)

    def models() -> int:
        return (
            db(first_run).execute("select count(*) from model_state where user_id = ?", (uid,)).fetchone()[0]
        )

    assert models() > 0
    page.goto(f"{base(first_run, 'localhost')}/connect")
    page.get_by_role("button", name="Reset what oO learned").click()
    page.get_by_role("button", name="Keep it").click()
    assert models() > 0
    page.get_by_role("button", name="Reset what oO learned").click()
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_test_id("yours-message")).to_contain_text("from scratch")
    assert models() == 0
    expect(page.get_by_test_id("learned")).to_contain_text("Nothing yet")


# -- 4. Undo --------------------------------------------------------------------------------------


def test_undo_restores_the_tip_and_the_task_stays_open_at_todoist(page, first_run, todoist):
    token = f"e2e-{secrets.token_hex(12)}"
    todoist.fake.add_user(token, tz="Europe/Berlin")
    todoist.fake.grant_token = token
    task = todoist.fake.add_task(token, content="Call the plumber", priority=4, due_date="2030-01-01")
    url = base(first_run, "127.0.0.1")  # the other loopback name, through the whole OAuth round trip
    page.goto(f"{url}/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.wait_for_url(on(url, "/connect"))
    page.get_by_test_id("source-todoist").get_by_role("button", name="Connect").click()
    page.wait_for_url(on(url, "/connect"))
    expect(page.get_by_test_id("status-todoist")).to_have_text("Connected")
    uid = user_id_of(first_run)

    page.goto(f"{url}/tip")
    tip = page.get_by_test_id("tip")
    expect(tip).to_have_text("Call the plumber")
    tip.click()
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_test_id("tip-ack")).to_have_text("Done.")
    expect(page.get_by_test_id("tip-empty")).to_be_visible()
    page.get_by_test_id("tip-undo").click()
    expect(tip).to_have_text("Call the plumber")  # the previous tip is back
    expect(page.get_by_test_id("tip-ack")).to_have_text("Undone.")
    expect(page.get_by_test_id("tip-undo")).to_have_count(0)
    conn = db(first_run)
    assert conn.execute("select count(*) from tip_feedback where user_id = ?", (uid,)).fetchone()[0] == 0
    assert conn.execute("select count(*) from model_state where user_id = ?", (uid,)).fetchone()[0] == 0
    time.sleep(14)  # past the undo window: nothing may reach Todoist now
    assert todoist.fake.closed_ids(token) == [] and todoist.fake.task(token, task["id"])["checked"] is False
    assert conn.execute("select status from source_action where user_id = ?", (uid,)).fetchall() == [
        ("cancelled",)
    ]
    # The restored tip works like any other: Done now closes it at Todoist once the window passes.
    tip.click()
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_test_id("tip-ack")).to_be_hidden(timeout=12_000)  # the Undo offer fades away
    eventually(lambda: todoist.fake.closed_ids(token) == [task["id"]], timeout=20)
    todoist.fake.grant_token = None


def test_each_reaction_is_acknowledged_calmly(page, first_run):
    open_tip(page, first_run)
    for name, ack in (("Snooze", "Snoozed for 3 hours."), ("Dismiss", "Dismissed for today.")):
        tip = page.get_by_test_id("tip")
        shown = tip.inner_text()
        tip.click()
        page.get_by_role("button", name=name, exact=True).click()
        expect(tip).not_to_have_text(shown)
        expect(page.get_by_test_id("tip-ack")).to_have_text(ack)
    page.get_by_test_id("tip-more").click()
    page.get_by_role("button", name="Helpful", exact=True).click()
    expect(page.get_by_test_id("tip-ack")).to_have_text("Noted: helpful.")
