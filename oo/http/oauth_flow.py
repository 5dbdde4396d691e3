"""The browser side of a "connect a source" OAuth round trip, shared by Todoist and Google Calendar.

Start (a same-origin form POST from /connect) redirects to the provider and sets a short-lived
HttpOnly cookie that binds the single-use state to this browser; the callback reads it back and
sends the browser to /connect with ``?<provider>=<outcome>``, removing the cookie. Redirects carry
no referrer (the callback URL holds the code) and are never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

from oo.cookies import flow_cookie_name, read_cookie, session_cookie_name
from oo.db import session_scope
from oo.services.accounts import sessions as accounts
from oo.settings import Settings

FLOW_COOKIE_SECONDS = 600


def redirect(url: str) -> RedirectResponse:
    """A 303 that leaks no referrer and is never cached."""
    resp = RedirectResponse(url, status_code=303)
    resp.headers["Referrer-Policy"] = "no-referrer"  # the callback URL carries the code
    resp.headers["Cache-Control"] = "no-store"
    return resp


def to_provider(url: str, binding: str, settings: Settings, *, samesite: str = "lax") -> RedirectResponse:
    """Off to the provider's consent screen, with the browser binding of the state in a cookie.

    ``samesite`` is "none" only for a provider that posts its callback cross-site (Apple's
    form_post), which a Lax cookie would not survive.
    """
    resp = redirect(url)
    resp.set_cookie(
        flow_cookie_name(settings.secure_cookies),
        binding,
        max_age=FLOW_COOKIE_SECONDS,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite=samesite,  # type: ignore[arg-type]
    )
    return resp


def back_to(url: str, settings: Settings) -> RedirectResponse:
    """Back to a page of ours (the outcome in its query), the flow cookie removed."""
    resp = redirect(url)
    resp.delete_cookie(flow_cookie_name(settings.secure_cookies), path="/", secure=settings.secure_cookies)
    return resp


def flow_binding(request: Request, settings: Settings) -> str | None:
    """The browser binding the start route set (None without one)."""
    return read_cookie(request.headers.get("cookie"), flow_cookie_name(settings.secure_cookies))


def session_user(request: Request, settings: Settings) -> accounts.CurrentUser | None:
    """The signed-in user of the session cookie (None for none, expired or revoked)."""
    token = read_cookie(request.headers.get("cookie"), session_cookie_name(settings.secure_cookies))
    with session_scope() as session:
        return accounts.resolve_session(session=session, token=token, idle_days=settings.session_idle_days)
