"""Who is calling an HTTP route: the session cookie (browser) or a per-user API token (Bearer).

The HTTP twin of ``AuthState._require_user``: routes never take a user id from the request.
State-changing calls authenticated by the cookie must also come from our own origin (CSRF).
"""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request

from oo.cookies import read_cookie, session_cookie_name
from oo.crypto import sha256_hex
from oo.loopback import accepted_origins
from oo.models import ApiToken, User, utcnow
from oo.services.accounts import api_tokens
from oo.services.accounts.sessions import TOUCH_EVERY, CurrentUser, resolve_session
from oo.settings import Settings, get_settings


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def user_from_api_token(*, session: Session, token: str) -> CurrentUser | None:
    """The owner of a live (not revoked, not expired) API token."""
    if len(token) > 128:
        return None
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == sha256_hex(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    now = utcnow()
    if not api_tokens.is_live(api_token, now) or user.deleted_at is not None:
        return None
    # Like sessions: refresh last_used_at at most once a minute, not with a write on every API call.
    if api_token.last_used_at is None or now - api_token.last_used_at > TOUCH_EVERY:
        api_token.last_used_at = now
        session.add(api_token)
        session.commit()
    return CurrentUser.of(user)


def request_user(
    request: Request, *, session: Session, settings: Settings | None = None
) -> tuple[CurrentUser | None, str]:
    """The caller and how they authenticated (``"token"``, ``"cookie"`` or ``""``)."""
    settings = settings or get_settings()
    token = bearer_token(request)
    if token:
        return user_from_api_token(session=session, token=token), "token"
    cookie = read_cookie(request.headers.get("cookie"), session_cookie_name(settings.secure_cookies))
    if cookie:
        return resolve_session(session=session, token=cookie, idle_days=settings.session_idle_days), "cookie"
    return None, ""


def same_origin(request: Request, settings: Settings | None = None) -> bool:
    """A cookie-authenticated write must come from our own pages (CSRF defence beside SameSite=Lax)."""
    settings = settings or get_settings()
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "same-site", "none")
    return origin in accepted_origins(settings)
