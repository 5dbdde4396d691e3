"""Advice in a real browser: the Advice switch on /connect, advice on /tip, "I did it", switch off again."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import at, sign_in_demo

pytestmark = pytest.mark.e2e


def test_a_user_with_no_tasks_gets_advice_when_the_switch_is_on(page, app):
    sign_in_demo(page, app)  # a new demo user with no source and no task
    switch = page.get_by_role("switch", name="Advice")
    expect(switch).to_have_attribute("aria-checked", "false")  # this server's default (conftest)
    switch.click()
    expect(page.get_by_test_id("advice-message")).to_have_text("Advice on.")
    expect(switch).to_have_attribute("aria-checked", "true")
    page.get_by_role("button", name="Show my tip").click()
    page.wait_for_url(at("/tip"))
    tip = page.get_by_test_id("tip")
    expect(tip).to_be_visible()
    first = tip.inner_text()
    db = sqlite3.connect(app.data_dir / "oo.db")
    texts = {row[0] for row in db.execute("select text from advice where status = 'active'")}
    assert first in texts, "the tip is a piece of the library"
    tip.click()
    page.get_by_role("button", name="I did it").click()
    expect(tip).not_to_have_text(first)
    second = tip.inner_text()
    assert second in texts
    kind, reaction, actions = db.execute(
        "select v.kind, v.reaction, (select count(*) from source_action) from tip_view v "
        "join advice a on a.key = v.external_id where a.text = ?",
        (first,),
    ).fetchone()
    assert (kind, reaction, actions) == ("advice", "done", 0)
    # Switched off: only tasks, and with none, the no-source state.
    page.goto(f"{app.url}/connect")
    switch = page.get_by_role("switch", name="Advice")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_test_id("advice-message")).to_have_text("Advice off: only your tasks.")
    page.reload()
    expect(page.get_by_role("switch", name="Advice")).to_have_attribute("aria-checked", "false")
    page.goto(f"{app.url}/tip")
    expect(page.get_by_test_id("tip-no-source")).to_be_visible()
