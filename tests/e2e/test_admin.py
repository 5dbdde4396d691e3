"""The admin console in a real browser against the production build, and attacks on it.

As an admin (signed in through the real OpenID provider with the seed email): every page renders
with data and charts, and every write asks first and writes exactly one audit row. As a demo
user or a visitor: every admin URL is refused, and every admin event handler called directly
over the websocket changes nothing and returns no admin data.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import os
import re
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio
from playwright.sync_api import BrowserContext, Page, expect

import admin
from oo.db import make_engine
from scripts import seed_admin_volume
from tests.e2e.conftest import at, sign_in_demo
from tests.support.oidc import playwright_login
from tests.support.socket_client import call_handler

pytestmark = pytest.mark.e2e
ADMIN_EMAIL = "admin@example.test"

# route -> (heading, chart test ids, table test ids that must have rows)
PAGES = {
    "/admin": ("Overview", ["funnel", "reactions", "daily"], []),
    "/admin/users": ("Users", [], ["users"]),
    "/admin/events": ("Event stream", ["events-hourly"], ["history"]),
    "/admin/features": ("Feature browser", ["feature-series"], ["scoring-calls"]),
    "/admin/policies": ("Policy registry", [], ["policies"]),
    "/admin/experiments": ("Experiments", ["policy-reward", "cohorts"], ["policy-stats", "cohort-stats"]),
    "/admin/recommendations": ("Recommendation log", [], ["recommendations"]),
    "/admin/rewards": (
        "Reward analytics",
        [
            "reactions-daily",
            "reward-daily",
            "reward-policy",
            "reward-hour",
            "reward-priority",
            "reward-cohort",
        ],
        [],
    ),
    "/admin/quality": ("Data quality", ["missing-features", "completeness"], []),
    "/admin/ops": ("Ops actions", [], ["recent-events", "ops-policies"]),
    "/admin/sql": ("SQL runner", [], ["saved-queries"]),
    "/admin/health": ("Health", [], ["health"]),
    "/admin/audit": ("Audit log", [], ["audit"]),
    "/admin/glossary": ("Glossary", [], []),
    "/admin/advice": ("Advice library", [], ["advice"]),  # per-tag rows need advice served (test_advice.py)
}


def db(app) -> sqlite3.Connection:
    return sqlite3.connect(app.data_dir / "oo.db")


def scalar(app, sql: str, *args):
    con = db(app)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def audit_count(app) -> int:
    return scalar(app, "SELECT count(*) FROM admin_action")


@pytest.fixture(scope="module")
def seeded(app) -> dict[str, int]:
    """Realistic volume in the running app's database (ids continue after existing rows)."""
    engine = make_engine(f"sqlite:///{app.data_dir / 'oo.db'}")
    try:
        return seed_admin_volume.seed(engine, users=150, events=3000, tips=800)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def admin_context(browser, app, seeded) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto(f"{app.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/interaction/.*"))
    playwright_login(page, ADMIN_EMAIL)
    page.wait_for_url(at("/tip"))
    assert scalar(app, "SELECT role FROM user WHERE email = ?", ADMIN_EMAIL) == "admin"
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def admin_page(admin_context) -> Iterator[Page]:
    page = admin_context.new_page()
    yield page
    page.close()


def open_admin(page: Page, app, path: str) -> None:
    page.goto(f"{app.url}{path}")
    expect(page.get_by_role("heading", name=PAGES[path][0], exact=True)).to_be_visible()


def confirm(page: Page, app, *, expect_text: str, action: str) -> None:
    """Confirm the open dialog; exactly one audit row of ``action`` must appear."""
    before = audit_count(app)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(expect_text)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("admin-notice")).to_be_visible()
    expect(dialog).to_be_hidden()
    assert audit_count(app) == before + 1
    assert scalar(app, "SELECT action FROM admin_action ORDER BY id DESC LIMIT 1") == action


def set_override_reason(page: Page, reason: str) -> None:
    """Type an override reason for the next promotion on the Policies page."""
    form = page.get_by_test_id("override-form")
    form.locator("input[name=reason]").fill(reason)
    form.get_by_role("button", name="Set reason").click()
    expect(page.get_by_test_id("admin-notice")).to_contain_text("Override reason set")


def test_every_admin_page_renders_with_data_and_charts(admin_page, app):
    for path, (_, chart_ids, table_ids) in PAGES.items():
        open_admin(admin_page, app, path)
        for chart in chart_ids:
            expect(admin_page.get_by_test_id(f"chart-{chart}").locator(".main-svg").first).to_be_visible()
        for table in table_ids:
            expect(admin_page.get_by_test_id(f"table-{table}").locator("tbody tr").first).to_be_visible()
        if path == "/admin/health":
            expect(admin_page.get_by_test_id("health-status").first).to_be_visible()
            assert "InMemoryBus" in admin_page.get_by_test_id("table-health").inner_text()


SHOTS = Path(os.environ.get("OO_E2E_SHOTS", tempfile.gettempdir())) / "oo-admin-layout"


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)], ids=["phone", "desktop"])
def test_every_admin_page_fits_the_screen_and_the_navigation_is_reachable(
    browser, admin_context, app, width, height
):
    """No horizontal page overflow, charts as wide as their box, the sidebar (or menu) in reach."""
    ctx = browser.new_context(
        viewport={"width": width, "height": height}, storage_state=admin_context.storage_state()
    )
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for path, (_, charts_, tables) in PAGES.items():
            open_admin(page, app, path)
            for chart_id in charts_:
                expect(page.get_by_test_id(f"chart-{chart_id}").locator(".main-svg").first).to_be_visible()
            for table in tables:
                expect(page.get_by_test_id(f"table-{table}").locator("tbody tr").first).to_be_visible()
            page.wait_for_timeout(300)  # let Plotly's resize handler settle
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} overflows by {overflow}px at {width}px"
            plots = page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => "
                "[p.getBoundingClientRect().width, p.parentElement.getBoundingClientRect().width])"
            )
            for plot, box in plots:
                assert plot <= box + 1 and plot >= min(300, box) - 1, (
                    f"{path}: chart {plot}px in a {box}px box"
                )
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(SHOTS / f"{width}-{name}.png"), full_page=True)
            if width < 768:
                expect(page.get_by_test_id("admin-sidebar")).to_be_hidden()
                modebars = page.locator(".modebar-container")
                for i in range(modebars.count()):
                    expect(modebars.nth(i)).to_be_hidden()
                page.get_by_test_id("admin-menu-button").click()
                expect(
                    page.get_by_test_id("admin-menu").get_by_role("link", name="Users")
                ).to_be_in_viewport()
                page.get_by_test_id("admin-menu-button").click()
            else:
                page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
                expect(
                    page.get_by_test_id("admin-sidebar").get_by_role("link", name="Audit log")
                ).to_be_in_viewport()
                expect(page.get_by_test_id("admin-menu")).to_be_hidden()
    finally:
        ctx.close()


def test_health_refreshes_by_itself_every_15_seconds(admin_page, app):
    open_admin(admin_page, app, "/admin/health")
    checked = admin_page.get_by_test_id("health-checked-at")
    expect(checked).to_contain_text("UTC")
    first = checked.inner_text()
    expect(checked).not_to_have_text(first, timeout=25_000)


def test_cancel_changes_nothing_and_confirm_writes_one_audit_row(admin_page, app):
    open_admin(admin_page, app, "/admin/policies")
    before = audit_count(app)
    row = admin_page.get_by_test_id("table-policies").locator("tbody tr", has_text="shadow").first
    promoted = row.locator("td").first.inner_text()
    row.get_by_role("button", name="Promote").click()
    admin_page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    expect(admin_page.get_by_role("alertdialog")).to_be_hidden()
    assert audit_count(app) == before
    active = scalar(app, "SELECT name || '@' || version FROM policy WHERE status = 'active'")
    # Without off-policy evidence the gate refuses, and nothing is written.
    row.get_by_role("button", name="Promote").click()
    admin_page.get_by_role("alertdialog").get_by_role("button", name="Confirm").click()
    expect(admin_page.get_by_test_id("admin-error")).to_contain_text("override reason")
    assert audit_count(app) == before
    set_override_reason(admin_page, "e2e canary")
    row.get_by_role("button", name="Promote").click()
    confirm(admin_page, app, expect_text=f"Promote {promoted}", action="policy.promote")
    assert scalar(app, "SELECT name || '@' || version FROM policy WHERE status = 'active'") == promoted
    assert "e2e canary" in scalar(app, "SELECT params FROM admin_action ORDER BY id DESC LIMIT 1")
    # Put the original policy back for the other tests of this app.
    set_override_reason(admin_page, "restore")
    rows = admin_page.get_by_test_id("table-policies").locator("tbody tr")
    # By the key in its first cell: another row's description may mention this key.
    rows.filter(has=admin_page.get_by_role("cell", name=active, exact=True)).get_by_role(
        "button", name="Promote"
    ).click()
    confirm(admin_page, app, expect_text=f"Promote {active}", action="policy.promote")
    assert scalar(app, "SELECT count(*) FROM policy WHERE status = 'active'") == 1


def test_user_actions_each_write_one_audit_row(admin_page, app, seeded):
    uid = scalar(
        app,
        "SELECT i.user_id FROM integration i JOIN user u ON u.id = i.user_id "
        "WHERE i.provider = 'demo' AND u.is_demo = 0 ORDER BY i.user_id DESC LIMIT 1",
    )
    open_admin(admin_page, app, "/admin/users")
    admin_page.get_by_placeholder("Id, email or name").fill(str(uid))
    admin_page.get_by_role("button", name="Search").click()
    # The row of that user (waits for the search's answer: the first row of the page before it is
    # another user, who may be an admin).
    row = (
        admin_page.get_by_test_id("table-users")
        .locator("tbody tr")
        .filter(has=admin_page.locator("td").filter(has_text=re.compile(rf"^\s*{uid}\s*$")))
    )
    row.get_by_role("button", name="Open").click()
    expect(admin_page.get_by_text("User detail")).to_be_visible()
    admin_page.get_by_role("button", name="Grant admin").click()
    confirm(admin_page, app, expect_text=f"Grant the admin role to user {uid}", action="role.grant")
    assert scalar(app, "SELECT role FROM user WHERE id = ?", uid) == "admin"
    admin_page.get_by_role("button", name="Revoke admin").click()
    confirm(admin_page, app, expect_text=f"Revoke the admin role of user {uid}", action="role.revoke")
    assert scalar(app, "SELECT role FROM user WHERE id = ?", uid) == "user"
    admin_page.get_by_role("button", name="Reset bandit").click()
    confirm(admin_page, app, expect_text=f"user {uid}", action="bandit.reset")
    admin_page.get_by_test_id("table-integrations").get_by_role("button", name="Revoke").click()
    confirm(admin_page, app, expect_text="Demo tasks", action="integration.revoke")
    assert scalar(app, "SELECT count(*) FROM integration WHERE user_id = ?", uid) == 0


def test_ops_replay_and_experiment_reset_each_write_one_audit_row(admin_page, app):
    open_admin(admin_page, app, "/admin/ops")
    event_id = admin_page.get_by_test_id("table-recent-events").locator("tbody tr td").first.inner_text()
    admin_page.get_by_placeholder("Event id (32 hex)").fill(event_id)
    admin_page.get_by_test_id("replay-form").get_by_role("button", name="Replay…").click()
    confirm(admin_page, app, expect_text=f"Replay event {event_id}", action="event.replay")
    assert scalar(app, "SELECT count(*) FROM event WHERE replay_of = ?", event_id) == 1
    admin_page.get_by_placeholder("Event id (32 hex)").fill("not-an-id")
    admin_page.get_by_test_id("replay-form").get_by_role("button", name="Replay…").click()
    expect(admin_page.get_by_test_id("admin-error")).to_contain_text("32 hexadecimal")
    open_admin(admin_page, app, "/admin/experiments")
    uid = scalar(app, "SELECT user_id FROM model_state LIMIT 1")
    admin_page.get_by_test_id("reset-form").get_by_placeholder("User id").fill(str(uid))
    admin_page.get_by_role("button", name="Reset…").click()
    confirm(admin_page, app, expect_text=f"user {uid}", action="bandit.reset")
    assert scalar(app, "SELECT count(*) FROM model_state WHERE user_id = ?", uid) == 0


def test_sql_runner_reads_refuses_writes_and_audits_every_run(admin_page, app):
    open_admin(admin_page, app, "/admin/sql")
    editor = admin_page.get_by_label("SQL")
    users_before = scalar(app, "SELECT count(*) FROM user")
    before = audit_count(app)
    editor.fill("SELECT policy, count(*) AS tips FROM ro_tip_view GROUP BY policy")
    admin_page.get_by_role("button", name="Run").click()
    expect(admin_page.get_by_test_id("sql-info")).to_contain_text("rows in")
    expect(admin_page.get_by_test_id("sql-result")).to_contain_text("linucb")
    editor.fill('DELETE FROM "user"')
    admin_page.get_by_role("button", name="Run").click()
    expect(admin_page.get_by_test_id("admin-error")).to_contain_text("read-only")
    assert scalar(app, "SELECT count(*) FROM user") == users_before
    assert audit_count(app) == before + 2  # the refused run is audited too
    editor.fill("SELECT count(*) AS n FROM ro_user")
    admin_page.get_by_role("button", name="Run").click()
    expect(admin_page.get_by_test_id("sql-info")).to_contain_text("1 rows")
    name = f"e2e {uuid.uuid4().hex[:6]}"
    admin_page.get_by_placeholder("Save the last query run as…").fill(name)
    admin_page.get_by_role("button", name="Save…").click()
    confirm(admin_page, app, expect_text=name, action="sql.save")
    saved = admin_page.get_by_test_id("table-saved-queries").locator("tbody tr", has_text=name)
    saved.get_by_role("button", name="Delete").click()
    confirm(admin_page, app, expect_text=name, action="sql.delete")
    assert scalar(app, "SELECT count(*) FROM saved_query WHERE name = ?", name) == 0


def test_audit_log_shows_and_filters_the_actions(admin_page, app):
    open_admin(admin_page, app, "/admin/audit")
    admin_page.get_by_label("Action").select_option("sql.run")
    admin_page.get_by_role("button", name="Apply").click()
    rows = admin_page.get_by_test_id("table-audit").locator("tbody tr")
    expect(rows.first).to_contain_text("sql.run")
    assert all("sql.run" in text for text in rows.all_inner_texts())


# ---- refused everywhere -------------------------------------------------------------------------


def test_visitors_and_non_admins_are_refused_every_admin_url(page, app, seeded):
    for path in PAGES:
        assert httpx.get(f"{app.url}{path}", follow_redirects=False).status_code == 303
    sign_in_demo(page, app)
    for path in PAGES:
        response = page.goto(f"{app.url}{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="403")).to_be_visible()
        assert "example.test" not in page.content()


def test_client_side_navigation_by_a_non_admin_ends_on_the_403_page(page, app, seeded):
    sign_in_demo(page, app)
    page.evaluate(
        "() => { window.history.pushState({}, '', '/admin/users'); "
        "window.dispatchEvent(new PopStateEvent('popstate')); }"
    )
    page.wait_for_url(at("/admin/forbidden"))
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    assert "example.test" not in page.content()


def admin_calls() -> list[tuple[str, dict]]:
    """Every public admin event handler with plausible (and hostile) arguments."""
    form = {
        "user_id": "1",
        "provider": "demo",
        "event_id": "0" * 32,
        "name": "x",
        "sql": 'DELETE FROM "user"',
        "window": "30d",
        "query": "example",
        "status": "active",
        "subject": "signals.>",
        "since": "all",
        "action": "",
        "admin_id": "",
        "target": "",
    }
    args = {
        "form": form,
        "policy_id": "1",
        "status": "active",
        "role": "admin",
        "provider": "demo",
        "user_id": "1",
        "event_id": "0" * 32,
        "query_id": "1",
        "var_name": "confirm_open",  # Reflex's built-in setvar: there are no setters to reach
        "value": True,
    }
    calls = []
    for state in admin.STATES:
        for name, handler in state.event_handlers.items():
            params = [p for p in inspect.signature(handler.fn).parameters if p != "self"]
            calls.append((f"{state.get_full_name()}.{name}", {p: args.get(p, "1") for p in params}))
    return calls


async def _emit_all(url: str, calls: list[tuple[str, dict]], cookie: str | None) -> list[dict]:
    sio = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    sio.on("event", lambda data: received.append(data), namespace="/_event")
    token = uuid.uuid4().hex
    await sio.connect(
        f"{url}?token={token}",
        socketio_path="/_event",
        transports=["websocket"],
        headers={"Cookie": cookie} if cookie else {},
        namespaces=["/_event"],
    )
    try:
        for name, payload in calls:  # ask_* then confirm: the whole write path, refused at each step
            await sio.emit(
                "event",
                {
                    "token": token,
                    "name": name,
                    "payload": payload,
                    "router_data": {"pathname": "/admin", "query": {}},
                },
                namespace="/_event",
            )
        await asyncio.sleep(4)
    finally:
        await sio.disconnect()
    return received


def fingerprint(app) -> tuple:
    con = db(app)
    try:
        return tuple(
            con.execute(sql).fetchall()
            for sql in (
                "SELECT count(*) FROM admin_action",
                "SELECT id, role FROM user WHERE role = 'admin' ORDER BY id",
                "SELECT name, version, status FROM policy ORDER BY id",
                "SELECT count(*) FROM saved_query",
                "SELECT count(*) FROM model_state",
                "SELECT count(*) FROM integration",
                "SELECT count(*) FROM event WHERE replay_of IS NOT NULL",
            )
        )
    finally:
        con.close()


def emit_all(app, calls: list[tuple[str, dict]], cookie: str | None) -> str:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return json.dumps(pool.submit(asyncio.run, _emit_all(app.url, calls, cookie)).result(timeout=120))


def test_the_leak_check_sees_data_when_an_admin_calls(app, admin_context):
    """Positive control for the next test: the same socket client, with the admin's cookie, gets data."""
    cookie = next(c for c in admin_context.cookies() if c["name"] == "oo_session")
    loads = [(name, payload) for name, payload in admin_calls() if name.endswith(".load")]
    text = emit_all(app, loads, f"oo_session={cookie['value']}")
    assert "example.test" in text and "linucb@" in text


def test_guarded_handlers_get_their_arguments_over_the_websocket(app, admin_context):
    """@admin_event keeps what Reflex reads: a str argument, a form dict, an async handler."""
    cookie = next(c for c in admin_context.cookies() if c["name"] == "oo_session")
    admin_cookie = f"oo_session={cookie['value']}"
    uid = scalar(app, "SELECT id FROM user WHERE email = ?", ADMIN_EMAIL)
    users = admin.AdminUsersState.get_full_name()
    text = json.dumps(call_handler(app.url, f"{users}.open_user", {"user_id": str(uid)}, cookie=admin_cookie))
    assert ADMIN_EMAIL in text
    sql = admin.AdminSqlState.get_full_name()
    text = json.dumps(
        call_handler(app.url, f"{sql}.run", {"form": {"sql": "SELECT 6 * 7 AS answer"}}, cookie=admin_cookie)
    )
    assert '"42"' in text and "1 rows in" in text
    demo = httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url}).cookies["oo_session"]
    text = json.dumps(
        call_handler(app.url, f"{users}.open_user", {"user_id": str(uid)}, cookie=f"oo_session={demo}")
    )
    assert ADMIN_EMAIL not in text and "/admin/forbidden" in text


def models(app) -> set[tuple[int, str]]:
    con = db(app)
    try:
        return set(con.execute("SELECT user_id, policy_key FROM model_state").fetchall())
    finally:
        con.close()


def test_every_admin_handler_over_the_websocket_refuses_visitors_and_non_admins(app, seeded):
    calls = admin_calls()
    assert len(calls) >= 45
    demo = httpx.post(f"{app.url}/auth/demo", headers={"origin": app.url})
    before, learned = fingerprint(app), models(app)
    for cookie in (None, f"oo_session={demo.cookies['oo_session']}", "oo_session=forged"):
        text = emit_all(app, calls, cookie)
        assert text != "[]", "the server answered nothing at all"
        for leak in ("example.test", "linucb@", "v1.", "rows in", "ro_user_session"):
            assert leak not in text, f"{leak!r} reached a caller without the admin role"
        assert "/admin/forbidden" in text or "/signin" in text
    assert fingerprint(app) == before
    assert learned <= models(app)  # no bandit was reset (the learner job may add models meanwhile)


def test_advice_library_add_and_retire_each_write_one_audit_row(admin_page, app):
    open_admin(admin_page, app, "/admin/advice")
    form = admin_page.get_by_test_id("advice-form")
    form.get_by_label("Advice (").fill("Water the plants on the windowsill.")
    form.get_by_label("Time of day").fill("morning, evening")
    form.get_by_label("Contexts").fill("weekend")
    form.get_by_role("button", name="Add…").click()
    confirm(admin_page, app, expect_text="Add this piece", action="advice.create")
    text = "Water the plants on the windowsill."
    assert scalar(app, "SELECT source || ':' || status FROM advice WHERE text = ?", text) == "operator:active"
    row = admin_page.get_by_test_id("table-advice").locator("tbody tr", has_text=text)
    row.get_by_role("button", name="Retire").click()
    confirm(admin_page, app, expect_text="Retire op-", action="advice.retire")
    assert scalar(app, "SELECT status FROM advice WHERE text = ?", text) == "retired"
