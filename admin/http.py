"""HTTP gate for full page loads under /admin: 403 for non-admins, sign-in for visitors.

Defence in depth only: client-side navigation and all data travel over the websocket, where
every admin handler checks the role itself. This gate makes a direct load of an admin URL by a
non-admin answer a real ``403`` before any admin page code reaches the browser.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from admin import routes
from oo.cookies import read_cookie, session_cookie_name
from oo.db import session_scope
from oo.offload import slow
from oo.services.accounts import sessions as accounts
from oo.settings import get_settings

log = logging.getLogger("oo.admin.http")
FORBIDDEN_HTML = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>403 \xc2\xb7 oO admin</title>"
    b"<meta name=viewport content='width=device-width'>"
    b"<body style='background:#000;color:#f5f5f5;font-family:system-ui;display:grid;place-items:center;"
    b"min-height:100vh;margin:0'><main style='text-align:center'><h1 style='font-size:4rem;margin:0'>403</h1>"
    b"<p>The admin console is for admins only.</p><p><a style='color:#fff' href='/tip'>Back to oO</a></p></main>"
)


def guarded(path: str) -> bool:
    """Whether ``path`` is an admin page (the 403 page itself is not).

    Examples:
        >>> guarded("/admin"), guarded("/admin/users/"), guarded("/admin/forbidden/"), guarded("/administer")
        (True, True, False, False)
    """
    path = path.rstrip("/") or "/"
    return (path == routes.OVERVIEW or path.startswith(routes.OVERVIEW + "/")) and path != routes.FORBIDDEN


def _role(cookie_header: str | None) -> str | None:
    settings = get_settings()
    token = read_cookie(cookie_header, session_cookie_name(settings.secure_cookies))
    with session_scope() as session:
        user = accounts.resolve_session(session=session, token=token, idle_days=settings.session_idle_days)
    return user.role if user else None


class AdminGate:
    """ASGI middleware in front of the app (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse admin page loads to anyone but admins."""
        if scope["type"] != "http" or not guarded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        cookie = dict(scope.get("headers") or []).get(b"cookie", b"").decode("latin-1") or None
        try:
            role = await slow(_role, cookie)
        except Exception:
            log.exception("admin gate could not check the session; refusing")
            role = "unknown"
        if role == "admin":
            await self.app(scope, receive, send)
            return
        if role is None:
            headers = [(b"location", routes.SIGNIN.encode()), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 303, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": FORBIDDEN_HTML})
