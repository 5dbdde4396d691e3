"""Handlers called directly over the websocket: no session, or another user's session, gets nothing."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from oo.state.connect import ConnectState
from oo.state.tip import TipState
from tests.support.socket_client import call_handler

pytestmark = pytest.mark.e2e


def handler(state, name: str) -> str:
    return f"{state.get_full_name()}.{name}"


def demo_cookie(app) -> tuple[str, int]:
    resp = httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url})
    assert resp.status_code == 303
    token = resp.cookies["oo_session"]
    db = sqlite3.connect(app.data_dir / "oo.db")
    user_id = db.execute("select max(id) from user").fetchone()[0]
    return f"oo_session={token}", user_id


def count(app, sql: str, *args) -> int:
    return sqlite3.connect(app.data_dir / "oo.db").execute(sql, args).fetchone()[0]


def test_a_session_cookie_lets_the_owner_act(app):
    cookie, uid = demo_cookie(app)
    deltas = call_handler(app.url, handler(ConnectState, "connect"), {"provider": "demo"}, cookie=cookie)
    assert count(app, "select count(*) from integration where user_id = ?", uid) == 1
    assert "Demo tasks connected" in json.dumps(deltas)


def test_no_session_gets_nothing(app):
    before = count(app, "select count(*) from integration")
    for name, payload in (("connect", {"provider": "demo"}), ("disconnect", {"provider": "demo"})):
        deltas = call_handler(app.url, handler(ConnectState, name), payload)
        text = json.dumps(deltas)
        assert "Demo tasks" not in text and "sources" not in text
    call_handler(app.url, handler(TipState, "done"))
    assert count(app, "select count(*) from integration") == before


def test_another_users_session_cannot_touch_my_data(app):
    victim, victim_id = demo_cookie(app)
    call_handler(app.url, handler(ConnectState, "connect"), {"provider": "demo"}, cookie=victim)
    open_before = count(
        app, "select count(*) from task where user_id = ? and completed_at is null", victim_id
    )
    assert open_before > 0
    attacker, _ = demo_cookie(app)
    call_handler(app.url, handler(ConnectState, "disconnect"), {"provider": "demo"}, cookie=attacker)
    call_handler(app.url, handler(TipState, "done"), cookie=attacker)
    call_handler(
        app.url, handler(ConnectState, "connect"), {"provider": "demo'; drop table task; --"}, cookie=attacker
    )
    assert count(app, "select count(*) from integration where user_id = ?", victim_id) == 1
    assert (
        count(app, "select count(*) from task where user_id = ? and completed_at is null", victim_id)
        == open_before
    )


def test_forged_or_revoked_cookie_gets_nothing(app):
    cookie, uid = demo_cookie(app)
    httpx.post(f"{app.url}/auth/signout", headers={"origin": app.url, "cookie": cookie})
    for bad in (cookie, "oo_session=forged-value", "oo_session=" + "A" * 43):
        call_handler(app.url, handler(ConnectState, "connect"), {"provider": "demo"}, cookie=bad)
    assert count(app, "select count(*) from integration where user_id = ?", uid) == 0


def view_keys(deltas: list[dict]) -> list[str]:
    """The tip references (``view_key``) a tab was sent, oldest first."""
    return [
        v
        for d in deltas
        for sub in (d.get("delta") or {}).values()
        if isinstance(sub, dict)
        for k, v in sub.items()
        if k.startswith("view_key") and v
    ]


def test_a_reaction_lands_on_the_tip_its_reference_names_and_only_for_its_user(app):
    cookie, uid = demo_cookie(app)
    call_handler(app.url, handler(ConnectState, "connect"), {"provider": "demo"}, cookie=cookie)
    first = view_keys(call_handler(app.url, handler(TipState, "load"), cookie=cookie))[-1]
    # A reload shows the same tip again (`reshow`); a pick elsewhere (here the JSON API) makes it
    # stale, so the next load is a new tip.
    assert view_keys(call_handler(app.url, handler(TipState, "load"), cookie=cookie))[-1] == first
    picked = httpx.post(f"{app.url}/api/v1/recommend", json={}, headers={"cookie": cookie, "origin": app.url})
    assert picked.status_code == 200, picked.text
    newer = view_keys(call_handler(app.url, handler(TipState, "load"), cookie=cookie))[-1]
    assert first[:32] != newer[:32]
    # A tab whose saved state knows nothing (or a newer tip) still records on the tip it names.
    deltas = call_handler(
        app.url, handler(TipState, "done"), {"key": f"{first}-done", "ref": first}, cookie=cookie
    )
    assert (
        count(app, "select count(*) from tip_feedback where tip_id = ? and user_id = ?", first[:32], uid) == 1
    )
    assert count(app, "select count(*) from tip_feedback where tip_id = ?", newer[:32]) == 0
    assert view_keys(deltas), "the answer carries the next tip"
    attacker, _ = demo_cookie(app)
    for ref in (newer, newer[:32] + "A" * 16, "", newer[:32]):
        call_handler(app.url, handler(TipState, "helpful"), {"key": "k-helpful", "ref": ref}, cookie=attacker)
        call_handler(app.url, handler(TipState, "helpful"), {"key": "k2-helpful", "ref": ref[:32] + "B" * 16})
    assert count(app, "select count(*) from tip_feedback where tip_id = ?", newer[:32]) == 0


def test_a_reaction_that_names_its_tip_only_in_its_key_lands_on_that_tip_for_its_user_only(app):
    """A client that sends ``{"key": "<view_key>-helpful"}`` without ``ref`` (as the shared load
    generator's README does) is answered: the reference in the key is checked like a ``ref``."""
    cookie, uid = demo_cookie(app)
    call_handler(app.url, handler(ConnectState, "connect"), {"provider": "demo"}, cookie=cookie)
    ref = view_keys(call_handler(app.url, handler(TipState, "load"), cookie=cookie))[-1]
    attacker, attacker_id = demo_cookie(app)
    for key in (f"{ref}-helpful", f"{ref[:32]}{'C' * 16}-helpful"):  # a copied key, a forged mac
        call_handler(app.url, handler(TipState, "helpful"), {"key": key}, cookie=attacker, wait=0.5)
    assert count(app, "select count(*) from tip_feedback where user_id = ?", attacker_id) == 0
    call_handler(app.url, handler(TipState, "helpful"), {"key": f"{ref}-done"}, cookie=cookie, wait=0.5)
    assert (
        count(app, "select count(*) from tip_feedback where user_id = ?", uid) == 0
    )  # a key of another reaction
    deltas = call_handler(app.url, handler(TipState, "helpful"), {"key": f"{ref}-helpful"}, cookie=cookie)
    assert (
        count(app, "select count(*) from tip_feedback where tip_id = ? and user_id = ?", ref[:32], uid) == 1
    )
    assert view_keys(deltas) and view_keys(deltas)[-1] != ref, "the answer carries the next tip"
