"""User journeys in a real browser against the production build."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import at, sign_in_demo
from tests.support.oidc import playwright_login

pytestmark = pytest.mark.e2e


def test_route_guard_sends_visitors_to_signin(page, app):
    for path in ("/tip", "/connect", "/"):
        page.goto(f"{app.url}{path}")
        page.wait_for_url(at("/signin"))
    page.goto(f"{app.url}/legal/privacy")
    expect(page.get_by_role("heading", name="Privacy notice")).to_be_visible()
    page.goto(f"{app.url}/legal/terms")
    expect(page.get_by_role("heading", name="Terms of use")).to_be_visible()


def test_demo_journey_connect_tip_done_next(page, app):
    sign_in_demo(page, app)
    demo = page.get_by_test_id("source-demo")
    demo.get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.get_by_role("button", name="Show my tip").click()
    page.wait_for_url(at("/tip"))
    tip = page.get_by_test_id("tip")
    expect(tip).to_be_visible()
    first = tip.inner_text()
    assert first
    body_bg = page.evaluate(
        "() => { let e = document.querySelector('[data-testid=tip]');"
        " while (e && getComputedStyle(e).backgroundColor === 'rgba(0, 0, 0, 0)') e = e.parentElement;"
        " return e ? getComputedStyle(e).backgroundColor : null; }"
    )
    assert body_bg == "rgb(0, 0, 0)"
    tip.click()
    page.get_by_role("button", name="Done").click()
    expect(tip).not_to_have_text(first)
    # The finished task is marked done in the database.
    db = sqlite3.connect(app.data_dir / "oo.db")
    done = db.execute("select content from task where completed_at is not null").fetchall()
    assert (first,) in done


def test_sign_out_revokes_the_session(page, app):
    sign_in_demo(page, app)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(at("/signin"))
    page.goto(f"{app.url}/tip")
    page.wait_for_url(at("/signin"))


def test_google_sign_in_in_the_browser(page, app):
    page.goto(f"{app.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/interaction/.*"))
    playwright_login(page, "bob")
    page.wait_for_url(at("/tip"))
    expect(page.get_by_test_id("tip-no-source")).to_be_visible()


def test_refused_sign_in_shows_a_clear_page(page, app):
    page.goto(f"{app.url}/auth/google/callback?code=abc&state=forged")
    page.wait_for_url(re.compile(r".*/signin/?\?error=bad_state$"))
    expect(page.get_by_test_id("signin-error")).to_contain_text("already used, expired")
