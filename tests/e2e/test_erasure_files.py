"""After "Delete forever", no file the app wrote still holds the person (issue 16, erasure).

A real journey against the production build: sign in with the loopback OpenID provider (e-mail,
name, subject), connect the fake Todoist (a task text only this person has, a token), see that
task as the tip and snooze it, open the account page in a second tab — then delete the account
from the first. The app is stopped (Reflex flushes its tab states to disk at shutdown), and every
file it could have written is read byte by byte: everything under its data directory (SQLite
database, -wal/-shm, the ``states`` tab-state directory, its log) except the frontend build made
before the journey, plus any file under the checkout changed since the journey began (``data/``,
``.states/``, uploads, exports). None may contain the e-mail, the name, the subject, the task
text or the Todoist token, in plain text or JSON-escaped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import at
from tests.fakes.todoist import FakeTodoistServer
from tests.support.app_server import ROOT, AppServer, free_port
from tests.support.oidc import OidcProvider, expected_email, expected_name, expected_sub, playwright_login

pytestmark = pytest.mark.e2e
GOOGLE_ID, GOOGLE_SECRET = "oo-e2e-erasure", "oo-e2e-erasure-secret-0123456789abcdef"
TODOIST_ID, TODOIST_SECRET = "oo-e2e-erasure-todoist", "oo-e2e-erasure-todoist-secret-0123456789"
LOGIN = "zephyrine-q7r@example.test"
TASK = "Ask Dr Quimby about the biopsy results 7731"
SKIP_DIRS = {".git", "node_modules", ".venv", ".tools", "__pycache__", ".mypy_cache", ".ruff_cache"}


@pytest.fixture(scope="module")
def erasure_app(tmp_path_factory) -> Iterator[tuple[AppServer, FakeTodoistServer]]:
    port = free_port()
    redirect = f"http://localhost:{port}/auth/google/callback"
    with (
        OidcProvider(GOOGLE_ID, GOOGLE_SECRET, [redirect]) as idp,
        FakeTodoistServer(TODOIST_ID, TODOIST_SECRET) as todoist,
    ):
        env = {
            "OO_ADVICE_DEFAULT": "false",  # the tip is the person's own task, not advice
            "OO_GOOGLE_CLIENT_ID": GOOGLE_ID,
            "OO_GOOGLE_CLIENT_SECRET": GOOGLE_SECRET,
            "OO_GOOGLE_DISCOVERY_URL": idp.discovery_url,
            "OO_TODOIST_CLIENT_ID": TODOIST_ID,
            "OO_TODOIST_CLIENT_SECRET": TODOIST_SECRET,
            "OO_TODOIST_AUTH_URL": todoist.auth_url,
            "OO_TODOIST_API_URL": todoist.api_url,
        }
        server = AppServer(tmp_path_factory.mktemp("oo-erasure"), env=env, port=port)
        with server:
            yield server, todoist


def written_files(data_dir: Path, since: float) -> Iterator[Path]:
    """Every file the app may have written: its data dir (minus the earlier build), new files in the checkout."""
    seen: set[Path] = set()
    for root in (data_dir, ROOT):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                path = Path(dirpath, name)
                if path in seen or path.is_symlink() or not path.is_file():
                    continue
                seen.add(path)
                in_build = path.is_relative_to(data_dir / "web")
                if (root == data_dir and not in_build) or path.stat().st_mtime >= since:
                    yield path


def needles(token: str) -> dict[str, bytes]:
    texts = {
        "e-mail": expected_email(LOGIN),
        "name": expected_name(LOGIN),
        "subject": expected_sub(LOGIN),
        "task text": TASK,
        "Todoist token": token,
    }
    found = {}
    for label, text in texts.items():
        found[label] = text.encode()
        found[f"{label} (JSON)"] = json.dumps(text)[1:-1].encode()
        found[f"{label} (UTF-16)"] = text.encode("utf-16-le")
    return found


def sign_in_and_react(page: Page, app: AppServer) -> None:
    """Sign in, connect Todoist, see the task as the tip and snooze it."""
    page.goto(f"{app.url}/signin")
    page.get_by_role("button", name="Sign in with Google").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/interaction/.*"))
    playwright_login(page, LOGIN)
    page.wait_for_url(at("/tip"))
    page.goto(f"{app.url}/connect")
    page.get_by_test_id("source-todoist").get_by_role("button", name="Connect").click()
    page.wait_for_url(at("/connect"))
    expect(page.get_by_test_id("status-todoist")).to_have_text("Connected")
    page.goto(f"{app.url}/tip")
    tip = page.get_by_test_id("tip")
    expect(tip).to_have_text(TASK)
    tip.click()
    page.get_by_role("button", name="Snooze").click()
    expect(page.get_by_test_id("tip-ack")).to_be_visible()


def delete_forever(page: Page, app: AppServer) -> None:
    page.goto(f"{app.url}/connect")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("button", name="Delete forever").click()
    page.wait_for_url(re.compile(r".*/signin/?\?deleted=1$"))


def test_no_file_the_app_wrote_names_the_deleted_person(browser, erasure_app):
    app, todoist = erasure_app
    token = f"e2e-{secrets.token_hex(12)}"
    todoist.fake.add_user(token, tz="Europe/Berlin")
    todoist.fake.add_task(token, content=TASK, priority=4, due_date="2030-01-01")
    todoist.fake.grant_token = token
    since = time.time() - 1
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        sign_in_and_react(page, app)
        other_tab = context.new_page()  # a second tab of the same person, left open on the account page
        other_tab.goto(f"{app.url}/connect")
        expect(other_tab.get_by_test_id("status-todoist")).to_have_text("Connected")
        delete_forever(page, app)
    finally:
        context.close()
    app.__exit__(None, None, None)  # stop the app: the state manager writes what it holds
    checked, leaks = [], []
    wanted = needles(token)
    for path in written_files(app.data_dir, since):
        data = path.read_bytes()
        checked.append(path)
        leaks += [f"{label} in {path}" for label, needle in wanted.items() if needle in data]
    names = {p.name for p in checked}
    assert "oo.db" in names and "app.log" in names, f"the walk missed the app's files: {sorted(names)}"
    assert any(p.is_relative_to(app.data_dir / "states") for p in checked), "no tab state was written"
    assert not leaks, "\n".join(leaks)
