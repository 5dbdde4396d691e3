"""In the browser: reactions on /tip are recorded once and update the learner's stored model."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from oo.recommender import POLICY_SPECS
from oo.services.learning.policies import DEFAULT_ACTIVE
from oo.state.connect import ConnectState
from oo.state.tip import TipState
from tests.e2e.conftest import at, sign_in_demo
from tests.support.socket_client import call_handler

pytestmark = pytest.mark.e2e


def db(app) -> sqlite3.Connection:
    return sqlite3.connect(app.data_dir / "oo.db")


def models(app, user_id: int) -> dict[str, tuple[int, bytes]]:
    rows = db(app).execute("select policy_key, updates, data from model_state where user_id = ?", (user_id,))
    return {key: (updates, data) for key, updates, data in rows}


def feedback(app, user_id: int) -> list[tuple[str, str, bool]]:
    rows = db(app).execute(
        "select tip_id, reaction, applied_at is not null from tip_feedback where user_id = ? order by id",
        (user_id,),
    )
    return [(tip, reaction, bool(applied)) for tip, reaction, applied in rows]


def eventually(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.25)


def open_tip(page: Page, app) -> int:
    sign_in_demo(page, app)
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.get_by_role("button", name="Show my tip").click()
    page.wait_for_url(at("/tip"))
    expect(page.get_by_test_id("tip")).to_be_visible()
    return db(app).execute("select max(id) from user").fetchone()[0]


def react(page: Page, name: str, *, double: bool = False) -> str:
    """Tap the tip, press a reaction, and wait for the next tip; returns the tip that was reacted to."""
    tip = page.get_by_test_id("tip")
    shown = tip.inner_text()
    tip.click()
    expect(page.get_by_test_id("tip-why")).not_to_be_empty()
    button = page.get_by_role("button", name=name, exact=True)
    button.click(click_count=2) if double else button.click()
    expect(tip).not_to_have_text(shown)
    return shown


def test_reactions_on_tip_update_the_model(page, app):
    user_id = open_tip(page, app)
    assert models(app, user_id) == {}, "a new user starts cold"
    served = (
        db(app)
        .execute("select id, policy, policy_version, fallback from tip_view where user_id = ?", (user_id,))
        .fetchall()
    )
    assert len(served) == 1 and (f"{served[0][1]}@{served[0][2]}" == DEFAULT_ACTIVE or served[0][3])

    react(page, "Done")
    # Recorded at once; learned when its undo window has passed (oo/services/undo.py).
    assert feedback(app, user_id) == [(served[0][0], "done", False)] and models(app, user_id) == {}
    eventually(lambda: feedback(app, user_id) == [(served[0][0], "done", True)])
    after_done = models(app, user_id)
    assert {k: u for k, (u, _) in after_done.items()} == {
        s.key: 1 for s in POLICY_SPECS if s.name != "random"
    }

    react(page, "Dismiss")
    eventually(lambda: models(app, user_id)["linucb@3"][0] == 2)
    after_dismiss = models(app, user_id)
    assert after_dismiss["linucb@3"][1] != after_done["linucb@3"][1]
    assert [r for _, r, _ in feedback(app, user_id)] == ["done", "dismiss"]

    # A double tap is one reaction: recorded and learned once, and only one tip is skipped.
    views_before = (
        db(app).execute("select count(*) from tip_view where user_id = ?", (user_id,)).fetchone()[0]
    )
    react(page, "Snooze", double=True)
    page.wait_for_timeout(1000)
    assert [r for _, r, _ in feedback(app, user_id)] == ["done", "dismiss", "snooze"]
    eventually(lambda: all(applied for _, _, applied in feedback(app, user_id)))
    page.wait_for_timeout(1000)  # a second update (it must not come) would land by now
    assert models(app, user_id)["linucb@3"][0] == 3
    views_after = db(app).execute("select count(*) from tip_view where user_id = ?", (user_id,)).fetchone()[0]
    assert views_after == views_before + 1
    # Every reaction is in the feedback log, applied, and the shadows were scored on every request.
    assert all(applied for _, _, applied in feedback(app, user_id))
    roles = db(app).execute(
        "select role, count(*) from tip_score where user_id = ? group by role", (user_id,)
    )
    assert dict(roles.fetchall()) == {"active": views_after, "shadow": (len(POLICY_SPECS) - 1) * views_after}


def test_reconnect_and_empty_states(page, app):
    user_id = open_tip(page, app)
    conn = db(app)
    conn.execute(
        "insert into integration (user_id, provider, status, scopes, created_at, updated_at) "
        "values (?, 'todoist', 'needs_reconnect', '', current_timestamp, current_timestamp)",
        (user_id,),
    )
    conn.commit()
    page.reload()
    link = page.get_by_test_id("tip-reconnect")
    expect(link).to_be_visible()
    expect(page.get_by_test_id("tip")).to_be_visible()  # cached tasks still give a tip
    conn.execute("update task set completed_at = current_timestamp where user_id = ?", (user_id,))
    conn.commit()
    page.reload()
    expect(page.get_by_test_id("tip-empty")).to_have_text("Nothing to do — enjoy.")
    link.click()
    page.wait_for_url(at("/connect"))


def test_reaction_handlers_ignore_client_sent_tip_ids(app):
    """Over a bare websocket, another user's tip id in the payload changes nothing."""

    def session_cookie() -> tuple[str, int]:
        resp = httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url})
        return f"oo_session={resp.cookies['oo_session']}", db(app).execute(
            "select max(id) from user"
        ).fetchone()[0]

    victim, victim_id = session_cookie()
    call_handler(app.url, f"{ConnectState.get_full_name()}.connect", {"provider": "demo"}, cookie=victim)
    tip = httpx.post(
        f"{app.url}/api/v1/recommend", json={}, headers={"cookie": victim, "origin": app.url}
    ).json()
    attacker, attacker_id = session_cookie()
    name = f"{TipState.get_full_name()}.done"
    for payload in ({"key": "abc"}, {"key": "abc", "tip_id": tip["tip_id"]}, {"key": {"$ne": 1}}, {}):
        call_handler(app.url, name, payload, cookie=attacker, wait=0.5)
    mine = "select count(*) from tip_feedback where user_id in (?, ?)"
    assert db(app).execute(mine, (victim_id, attacker_id)).fetchone()[0] == 0
    assert db(app).execute("select reaction from tip_view where id = ?", (tip["tip_id"],)).fetchone() == (
        None,
    )
