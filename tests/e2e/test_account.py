"""Account page journeys: quiet hours, and one-click deletion with confirmation."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from oo.state.account import AccountState
from tests.e2e.conftest import at, sign_in_demo
from tests.e2e.test_websocket_security import demo_cookie, handler
from tests.support.socket_client import call_handler

pytestmark = pytest.mark.e2e


def db(app):
    return sqlite3.connect(app.data_dir / "oo.db")


def test_quiet_hours_are_validated_and_saved(page, app):
    sign_in_demo(page, app)
    field = page.get_by_test_id("quiet-hours")
    expect(field).to_have_value("22-8")
    field.fill("late")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("account-message")).to_contain_text("must look like 22-8")
    field.fill("23-7")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("account-message")).to_have_text("Quiet hours saved: 23-7.")
    uid = db(app).execute("select max(id) from user").fetchone()[0]
    assert db(app).execute("select quiet_hours from user where id = ?", (uid,)).fetchone()[0] == "23-7"


def test_delete_my_account_after_confirmation(page, app):
    sign_in_demo(page, app)
    uid = db(app).execute("select max(id) from user").fetchone()[0]
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.goto(f"{app.url}/tip")
    expect(page.get_by_test_id("tip")).to_be_visible()
    page.goto(f"{app.url}/connect")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("button", name="Keep my account").click()
    assert db(app).execute("select deleted_at from user where id = ?", (uid,)).fetchone()[0] is None
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("button", name="Delete forever").click()
    page.wait_for_url(re.compile(r".*/signin/?\?deleted=1$"))
    expect(page.get_by_test_id("signin-notice")).to_contain_text("deleted")
    page.goto(f"{app.url}/tip")
    page.wait_for_url(at("/signin"))
    row = db(app).execute("select email, name, deleted_at from user where id = ?", (uid,)).fetchone()
    assert row[0] is None and row[1] is None and row[2] is not None
    for table in ("task", "tip_view", "user_session", "integration", "consent"):
        assert db(app).execute(f"select count(*) from {table} where user_id = ?", (uid,)).fetchone()[0] == 0


def test_delete_needs_the_confirmation_step_even_over_the_socket(app):
    cookie, uid = demo_cookie(app)
    call_handler(app.url, handler(AccountState, "delete_forever"), cookie=cookie)
    call_handler(app.url, handler(AccountState, "delete_forever"))
    assert db(app).execute("select deleted_at from user where id = ?", (uid,)).fetchone()[0] is None
