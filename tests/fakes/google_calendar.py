"""A faithful fake of Google Calendar's FreeBusy API and Google's OAuth token endpoints, on loopback.

FreeBusy (``POST /calendar/v3/freeBusy``) follows Google's documented shape: a JSON body with
``timeMin``, ``timeMax`` (RFC 3339) and ``items: [{"id": ...}]``; the answer is
``{"kind": "calendar#freeBusy", "timeMin", "timeMax", "calendars": {id: {"busy": [{start, end}]}}}``
with only the intervals overlapping the window (clipped to it); a missing or bad Bearer token is 401,
a token without the ``calendar.freebusy`` scope 403, a bad body 400.

Tokens come from one of two places:

* **standalone** — the fake is its own authorization server: ``/.well-known/openid-configuration``,
  ``/auth`` (approves at once as ``fake.login`` and redirects with a code), ``/token``
  (``authorization_code`` with PKCE S256, ``refresh_token``; unknown or revoked refresh token →
  400 ``invalid_grant``), ``/revoke`` (revokes a refresh token and every access token minted from
  it, as Google does);
* **introspection** — with ``introspection_url`` set, Bearer tokens issued by a real OpenID provider
  (tests/support/oidc.py) are checked at its RFC 7662 endpoint, so the whole connect / refresh /
  revoke cycle runs against the real provider and this fake serves only the API.

Busy intervals are per subject (``set_busy``); ``fail_next`` injects 5xx/429 answers and
``requests`` counts calls, so tests can see retries and caching.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, reason: str, message: str) -> JSONResponse:
    """Google's API error shape."""
    return JSONResponse(
        {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}},
        status_code=status,
    )


@dataclass
class _Grant:
    subject: str
    scope: str
    revoked: bool = False
    access: set[str] = field(default_factory=set)


@dataclass
class FakeGoogleCalendar:
    """State and controls of the fake."""

    client_id: str
    client_secret: str
    introspection_url: str = ""
    login: str = "sub-alice"
    access_ttl: int = 3600
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)
    _faults: list[int] = field(default_factory=list)
    _codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # code → sub, challenge, redirect
    _refresh: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, tuple[_Grant, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_busy(self, subject: str, blocks: list[tuple[datetime, datetime]]) -> None:
        """Replace the subject's busy intervals."""
        with self._lock:
            self.busy[subject] = sorted(blocks)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` FreeBusy or token requests answer ``status``."""
        with self._lock:
            self._faults.extend([status] * n)

    def issue_refresh_token(self, subject: str, scope: str = SCOPE) -> str:
        """A refresh token for ``subject`` as if the user had connected (benches, unit tests)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = _Grant(subject, scope)
        return token

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (forces a refresh)."""
        with self._lock:
            self._access = {k: (g, 0.0) for k, (g, _) in self._access.items()}

    def revoked(self, refresh_token: str) -> bool:
        """True when the refresh token is unknown or revoked."""
        grant = self._refresh.get(refresh_token)
        return grant is None or grant.revoked

    def take_fault(self) -> int | None:
        """The next injected status, if any."""
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def mint(self, grant: _Grant) -> dict[str, object]:
        """A token response for ``grant``."""
        access = secrets.token_urlsafe(24)
        with self._lock:
            grant.access.add(access)
            self._access[access] = (grant, time.time() + self.access_ttl)
        return {
            "access_token": access,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            "scope": grant.scope,
        }

    async def subject_of(self, token: str) -> tuple[str, str] | None:
        """(subject, scope) of a valid access token, or None."""
        if self.introspection_url:
            async with httpx.AsyncClient(timeout=5) as http:
                r = await http.post(
                    self.introspection_url, data={"token": token}, auth=(self.client_id, self.client_secret)
                )
            info = r.json() if r.is_success else {}
            return (info["sub"], info.get("scope", "")) if info.get("active") else None
        entry = self._access.get(token)
        if entry is None or entry[0].revoked or entry[1] < time.time():
            return None
        return entry[0].subject, entry[0].scope


class _Endpoints:
    def __init__(self, fake: FakeGoogleCalendar, base: list[str]) -> None:
        self.fake, self.base = fake, base

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/openid-configuration", self.discovery, methods=["GET"]),
            Route("/auth", self.authorize, methods=["GET"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/revoke", self.revoke, methods=["POST"]),
            Route("/calendar/v3/freeBusy", self.free_busy, methods=["POST"]),
        ]

    async def discovery(self, request: Request) -> Response:
        root = self.base[0]
        return JSONResponse(
            {
                "issuer": root,
                "authorization_endpoint": f"{root}/auth",
                "token_endpoint": f"{root}/token",
                "revocation_endpoint": f"{root}/revoke",
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.fake.client_id or q.get("code_challenge_method") != "S256":
            return Response("bad request", status_code=400)
        code = secrets.token_urlsafe(16)
        self.fake._codes[code] = (self.fake.login, q.get("code_challenge", ""), q.get("redirect_uri", ""))
        target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', ''), 'scope': q.get('scope', '')})}"
        return RedirectResponse(target, status_code=302)

    def _client_ok(self, form: dict[str, str]) -> bool:
        return form.get("client_id") == self.fake.client_id and secrets.compare_digest(
            form.get("client_secret", ""), self.fake.client_secret
        )

    async def token(self, request: Request) -> Response:
        self.fake.requests["token"] += 1
        if (status := self.fake.take_fault()) is not None:
            return _error(status, "backendError", "injected")
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not self._client_ok(form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            entry = self.fake._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "").encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if entry is None or entry[1] != challenge or entry[2] != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            refresh = self.fake.issue_refresh_token(entry[0])
            return JSONResponse({**self.fake.mint(self.fake._refresh[refresh]), "refresh_token": refresh})
        if form.get("grant_type") == "refresh_token":
            grant = self.fake._refresh.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                    status_code=400,
                )
            return JSONResponse(self.fake.mint(grant))
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    async def revoke(self, request: Request) -> Response:
        self.fake.requests["revoke"] += 1
        token = str((await request.form()).get("token", ""))
        grant = self.fake._refresh.get(token) or (self.fake._access.get(token) or (None,))[0]
        if grant is None:
            return JSONResponse({"error": "invalid_token"}, status_code=400)
        grant.revoked = True
        return Response(status_code=200)

    async def free_busy(self, request: Request) -> Response:
        self.fake.requests["freeBusy"] += 1
        if (status := self.fake.take_fault()) is not None:
            return _error(status, "backendError", "injected")
        auth = request.headers.get("authorization", "")
        found = await self.fake.subject_of(auth[7:]) if auth.startswith("Bearer ") else None
        if found is None:
            return _error(401, "authError", "Invalid Credentials")
        subject, scope = found
        if SCOPE not in scope.split():
            return _error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        try:
            body = await request.json()
            lo, hi = _parse(body["timeMin"]), _parse(body["timeMax"])
            ids = [item["id"] for item in body["items"]]
        except (ValueError, KeyError, TypeError):
            return _error(400, "badRequest", "Bad Request")
        if lo is None or hi is None or hi <= lo:
            return _error(400, "timeRangeEmpty", "The specified time range is empty.")
        busy = [
            {"start": _stamp(max(s, lo)), "end": _stamp(min(e, hi))}
            for s, e in self.fake.busy.get(subject, [])
            if s < hi and e > lo
        ]
        calendars = {
            i: (
                {"busy": busy}
                if i == "primary"
                else {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            )
            for i in ids
        }
        return JSONResponse(
            {
                "kind": "calendar#freeBusy",
                "timeMin": _stamp(lo),
                "timeMax": _stamp(hi),
                "calendars": calendars,
            }
        )


class FakeGoogleCalendarServer:
    """Run the fake with uvicorn in a background thread on a free 127.0.0.1 port.

    Attributes:
        url: Root URL; ``api_url`` is the Calendar API root, ``discovery_url`` the standalone
            authorization server's discovery document.
        fake: The state and controls.
    """

    def __init__(
        self, client_id: str = "cal-client", client_secret: str = "cal-secret", *, introspection_url: str = ""
    ) -> None:
        """Prepare the app; the server starts on ``__enter__``."""
        self.fake = FakeGoogleCalendar(client_id, client_secret, introspection_url=introspection_url)
        self._base: list[str] = [""]
        self.app = Starlette(routes=_Endpoints(self.fake, self._base).routes())
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def api_url(self) -> str:
        """The Calendar API v3 root (``OO_GOOGLE_CALENDAR_API_URL``)."""
        return f"{self.url}/calendar/v3"

    @property
    def discovery_url(self) -> str:
        """The standalone authorization server's discovery document."""
        return f"{self.url}/.well-known/openid-configuration"

    def __enter__(self) -> FakeGoogleCalendarServer:
        """Bind a free port, start serving, wait until uvicorn accepts connections."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = self._base[0] = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", ws="none", backlog=4096
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="fake-gcal", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Google Calendar server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop uvicorn and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
