"""The tip experience in a phone-sized browser: every reaction, long-press, keyboard, snooze expiry,
offline retry and Notify me."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in_demo
from tests.support.push import browser_subscription

pytestmark = pytest.mark.e2e


def db(app):
    return sqlite3.connect(app.data_dir / "oo.db", isolation_level=None)


def demo_tip(page, app) -> int:
    """Sign in to a fresh demo account with Demo tasks; open /tip; return the user id."""
    sign_in_demo(page, app)
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.goto(f"{app.url}/tip")
    expect(page.get_by_test_id("tip")).to_be_visible()
    return db(app).execute("select max(id) from user").fetchone()[0]


def reactions_of(app, uid: int) -> list[str]:
    return [
        r[0]
        for r in db(app).execute("select reaction from tip_feedback where user_id = ? order by id", (uid,))
    ]


def long_press(page, locator, ms: int = 700) -> None:
    box = locator.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


@pytest.mark.parametrize("name", ["Done", "Snooze", "Dismiss"])
def test_tap_reactions_show_the_next_tip(page, app, name):
    uid = demo_tip(page, app)
    tip = page.get_by_test_id("tip")
    first = tip.inner_text()
    tip.click()
    page.get_by_role("button", name=name, exact=True).click()
    expect(tip).not_to_have_text(first)
    assert reactions_of(app, uid) == [name.lower()]


def test_long_press_shows_helpful_and_not_helpful(page, app):
    uid = demo_tip(page, app)
    tip = page.get_by_test_id("tip")
    long_press(page, tip)
    expect(page.get_by_test_id("opinions")).to_be_visible()
    expect(page.get_by_test_id("reactions")).to_have_count(0)
    first = tip.inner_text()
    page.get_by_role("button", name="Helpful", exact=True).click()
    expect(tip).not_to_have_text(first)
    long_press(page, tip, ms=200)  # a short press is a tap
    expect(page.get_by_test_id("reactions")).to_be_visible()
    page.get_by_role("button", name="More: was this tip helpful?").click()
    page.get_by_role("button", name="Not helpful").click()
    expect(page.get_by_test_id("opinions")).to_have_count(0)
    assert reactions_of(app, uid) == ["helpful", "not_helpful"]


def test_keyboard_reaches_every_reaction(page, app):
    demo_tip(page, app)
    page.get_by_test_id("tip").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Done")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Done")).to_be_focused()


def test_snoozed_task_comes_back_when_the_snooze_expires(page, app):
    uid = demo_tip(page, app)
    con = db(app)
    keep = con.execute(
        "select id, content from task where user_id = ? order by id limit 1", (uid,)
    ).fetchone()
    con.execute("delete from task where user_id = ? and id != ?", (uid, keep[0]))
    page.goto(f"{app.url}/tip")
    tip = page.get_by_test_id("tip")
    expect(tip).to_have_text(keep[1])
    tip.click()
    page.get_by_role("button", name="Snooze").click()
    expect(page.get_by_test_id("tip-empty")).to_be_visible()
    until = con.execute("select snoozed_until from task where id = ?", (keep[0],)).fetchone()[0]
    assert until is not None
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    con.execute("update task set snoozed_until = ? where id = ?", (past, keep[0]))
    page.goto(f"{app.url}/tip")
    expect(page.get_by_test_id("tip")).to_have_text(keep[1])


def test_a_reaction_given_offline_is_sent_once_when_back(page, context, app):
    uid = demo_tip(page, app)
    tip = page.get_by_test_id("tip")
    first = tip.inner_text()
    tip.click()
    expect(page.get_by_role("button", name="Done")).to_be_visible()
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Done").click()
    page.wait_for_timeout(1000)
    assert reactions_of(app, uid) == [], "nothing can arrive while offline"
    context.set_offline(False)
    expect(tip).not_to_have_text(first, timeout=30_000)
    assert reactions_of(app, uid) == ["done"]


def test_notify_me_subscribes_this_browser(page, context, app):
    sub = browser_subscription()
    context.add_init_script(
        """
        (() => {
          const sub = __SUBSCRIPTION__;
          const fake = {endpoint: sub.endpoint, toJSON: () => sub, unsubscribe: async () => true};
          let current = null;
          const manager = {getSubscription: async () => current,
                           subscribe: async (opts) => { window.__appKey = opts.applicationServerKey; current = fake; return fake; }};
          const reg = {pushManager: manager};
          window.PushManager = window.PushManager || function () {};
          Object.defineProperty(Notification, 'permission', {get: () => 'granted'});
          Notification.requestPermission = async () => 'granted';
          navigator.serviceWorker.register = async () => reg;
          navigator.serviceWorker.getRegistration = async () => reg;
          Object.defineProperty(navigator.serviceWorker, 'ready', {get: () => Promise.resolve(reg)});
        })();
        """.replace("__SUBSCRIPTION__", json.dumps(sub))
    )
    uid = demo_tip(page, app)
    page.get_by_role("button", name="Notify me").click()
    expect(page.get_by_test_id("push-message")).to_contain_text("Notifications on")
    assert page.evaluate("window.__appKey && window.__appKey.length") == 65, "subscribed with our VAPID key"
    assert (
        db(app).execute("select count(*) from push_subscription where user_id = ?", (uid,)).fetchone()[0] == 1
    )
    page.get_by_role("button", name="Notifications on · turn off").click()
    expect(page.get_by_test_id("push-message")).to_contain_text("off")
    assert (
        db(app).execute("select count(*) from push_subscription where user_id = ?", (uid,)).fetchone()[0] == 0
    )
