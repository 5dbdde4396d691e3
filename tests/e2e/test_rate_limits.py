"""Rate limits against the real app over a bare websocket and plain HTTP (issue 16, findings 1, 6, 8).

A server of its own with short windows, so deferral can be watched without waiting a minute:
3 reactions per 2 s per user, 40 events per 10 s per connection, 4 new picks on a load per minute
per user, 8 sign-ins a minute per address.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from reflex.state import FrontendEventExceptionState, State

from oo.state.connect import ConnectState
from oo.state.tip import TipState
from tests.support.app_server import AppServer
from tests.support.socket_client import call_handler, call_many, react_as_fast_as_deltas_allow

pytestmark = pytest.mark.e2e
SIGNINS = 8
PICKS = 4


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[AppServer]:
    env = {
        "OO_ADVICE_DEFAULT": "false",  # task journeys: no advice drawn in between (test_advice.py)
        "OO_DEMO": "true",
        "OO_RATE_REACTIONS_PER_MINUTE": "3",
        "OO_RATE_REACTIONS_WINDOW_SECONDS": "2",
        "OO_RATE_EVENTS_PER_10S": "40",
        "OO_RATE_LOADS_PER_MINUTE": str(PICKS),
        "OO_RATE_SIGNIN_PER_MINUTE": str(SIGNINS),
    }
    with AppServer(tmp_path_factory.mktemp("oo-limits"), env=env) as server:
        yield server


def name(state, handler: str) -> str:
    return f"{state.get_full_name()}.{handler}"


def count(app, sql: str, *args) -> int:
    return sqlite3.connect(app.data_dir / "oo.db").execute(sql, args).fetchone()[0]


def demo_user(app) -> tuple[str, int]:
    """A demo user with demo tasks (made once per test that needs one; sign-ins are limited too)."""
    resp = httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url})
    assert resp.status_code == 303 and "oo_session" in resp.cookies, resp.headers
    cookie = f"oo_session={resp.cookies['oo_session']}"
    uid = count(app, "select max(id) from user")
    call_handler(app.url, name(ConnectState, "connect"), {"provider": "demo"}, cookie=cookie)
    return cookie, uid


def test_300_helpful_events_do_not_make_300_rows(app):
    cookie, uid = demo_user(app)
    start = time.monotonic()
    deltas = react_as_fast_as_deltas_allow(
        app.url, name(TipState, "load"), name(TipState, "helpful"), 300, cookie=cookie, wait=1.0
    )
    elapsed = time.monotonic() - start
    rows = count(app, "select count(*) from tip_feedback where user_id = ?", uid)
    windows = elapsed / 2 + 1
    assert 1 <= rows <= 3 * windows + 5, (rows, elapsed)  # the limit, plus at most 5 deferred
    # every reaction that passed served at most one new tip (a stale reference shows the current one)
    assert count(app, "select count(*) from tip_view where user_id = ?", uid) <= 3 * windows + 5 + 2
    assert '"slow' in json.dumps(deltas)  # the page was told to slow down


def test_1000_loads_do_not_make_1000_tip_views(app):
    cookie, uid = demo_user(app)
    call_many(app.url, [(name(TipState, "load"), {})] * 1000, cookie=cookie, wait=0.5)
    assert count(app, "select count(*) from tip_view where user_id = ?", uid) <= 40


def told_to_slow_down(deltas: list[dict]) -> bool:
    return any(
        name.startswith("slow") and value is True
        for data in deltas
        for delta in (data.get("delta") or {}).values()
        for name, value in delta.items()
    )


def test_reloads_of_the_tip_on_screen_are_free_and_new_picks_are_limited(app):
    cookie, uid = demo_user(app)
    deltas = call_many(app.url, [(name(TipState, "load"), {})] * 12, cookie=cookie, wait=0.5)
    assert count(app, "select count(*) from tip_view where user_id = ?", uid) == 1  # 11 reshows
    assert not told_to_slow_down(deltas)
    for _ in range(PICKS + 2):  # the tip's task is closed elsewhere each time: each load is a new pick
        with sqlite3.connect(app.data_dir / "oo.db") as db:
            db.execute(
                "update task set completed_at = '2026-01-01 00:00:00.000000' where id = "
                "(select task_id from tip_view where user_id = ? order by served_at desc limit 1)",
                (uid,),
            )
        deltas = call_handler(app.url, name(TipState, "load"), cookie=cookie, wait=0.5)
    assert count(app, "select count(*) from tip_view where user_id = ?", uid) == PICKS
    assert told_to_slow_down(deltas)


def test_a_reaction_over_the_limit_is_deferred_not_lost(app):
    cookie, uid = demo_user(app)
    # a quick person: four reactions 0.2 s apart, one more than the window allows
    deltas = react_as_fast_as_deltas_allow(
        app.url, name(TipState, "load"), name(TipState, "helpful"), 4, cookie=cookie, gap=0.2, wait=4.0
    )
    assert count(app, "select count(*) from tip_feedback where user_id = ?", uid) == 4
    assert '"slow' in json.dumps(deltas)


def test_frontend_error_reports_are_sanitized_and_only_from_signed_in_sessions(app):
    handler = name(FrontendEventExceptionState, "handle_frontend_exception")
    forged = "boom\n[ERROR] FORGED-LINE by ann@example.com"
    call_many(app.url, [(handler, {"info": "ANON-" + forged, "component_stack": ""})], wait=0.5)
    cookie, _ = demo_user(app)
    call_many(
        app.url,
        [(handler, {"info": "SIGNED-" + forged + "x" * 5000, "component_stack": ""})] * 20,
        cookie=cookie,
        wait=1.0,
    )
    log = app.log_path.read_text()
    assert "ANON-" not in log  # no session: nothing written
    lines = [line for line in log.splitlines() if "SIGNED-" in line]
    assert 1 <= len(lines) <= 5  # rate-limited per user
    assert all("frontend error: SIGNED-boom ⏎ [ERROR]" in line and len(line) < 700 for line in lines)
    assert "ann@example.com" not in log
    assert not any(line.startswith("[ERROR] FORGED") for line in log.splitlines())


def test_another_tabs_token_hydrates_nothing_of_that_tab(app):
    cookie, uid = demo_user(app)
    token = "victim-tab-" + str(uid)
    victim = json.dumps(
        call_many(app.url, [(name(TipState, "load"), {})], cookie=cookie, token=token, wait=1.0)
    )
    text = (
        sqlite3.connect(app.data_dir / "oo.db")
        .execute(
            "select t.content from tip_view v join task t on t.id = v.task_id where v.user_id = ? "
            "order by v.served_at desc limit 1",
            (uid,),
        )
        .fetchone()[0]
    )
    assert text in victim  # the victim's tab holds its tip
    hydrate = f"{State.get_full_name()}.hydrate"
    for thief_cookie in (None, demo_user(app)[0]):  # no session, or someone else's
        stolen = json.dumps(
            call_many(app.url, [(hydrate, {})], cookie=thief_cookie, token=token, wait=1.0),
            ensure_ascii=False,
        )
        assert stolen != "[]"  # the hydrate was answered
        assert text not in stolen


def test_signin_starts_and_demo_accounts_are_limited_per_address(app):
    before = count(app, "select count(*) from user")
    answers = [httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url}) for _ in range(40)]
    made = count(app, "select count(*) from user") - before
    assert made <= SIGNINS
    assert any("error=slow_down" in a.headers.get("location", "") for a in answers)
