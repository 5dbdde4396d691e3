"""E2E fixtures: a real OpenID provider, the real app (`scripts/run`), and headless Chromium.

These tests never skip: without Chromium or Node they fail, so CI cannot go green silently.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.app_server import AppServer, free_port
from tests.support.oidc import OidcProvider

CLIENT_ID, CLIENT_SECRET = "oo-e2e-client", "oo-e2e-secret-0123456789abcdef"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """Debian's Chromium (Playwright's own browser download cannot work offline)."""
    path = os.environ.get("OO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: install Debian's `chromium` (.ci/run does this)")
    return path


@pytest.fixture(scope="session")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def idp(app_port) -> Iterator[OidcProvider]:
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [f"http://localhost:{app_port}/auth/google/callback"]) as p:
        yield p


@pytest.fixture(scope="session")
def app(tmp_path_factory, idp, app_port) -> Iterator[AppServer]:
    env = {
        "OO_DEMO": "true",
        "OO_GOOGLE_CLIENT_ID": CLIENT_ID,
        "OO_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OO_GOOGLE_DISCOVERY_URL": idp.discovery_url,
        "OO_ADMIN_SEED_EMAIL": "admin@example.test",
        # Journeys about tasks expect tasks (and the empty state): users start with advice off
        # here; tests/e2e/test_advice.py turns the switch on, as a user would.
        "OO_ADVICE_DEFAULT": "false",
    }
    with AppServer(tmp_path_factory.mktemp("oo-e2e"), env=env, port=app_port) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844})  # phone first
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


def sign_in_demo(page: Page, app: AppServer) -> None:
    """The demo journey's first step: /signin → Try the demo → /connect."""
    page.goto(f"{app.url}/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.wait_for_url(at("/connect"))


def at(path: str) -> re.Pattern[str]:
    """A URL matcher for ``path`` (the production build may add a trailing slash)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}/?(\?.*)?$")
