"""HTTP routes of the Google Calendar connection: start (form POST from /connect) and callback.

Start needs a signed-in user and a same-origin POST; it stores a single-use state with the PKCE
verifier, bound to this browser (short-lived HttpOnly cookie) and this user, then redirects to
Google's consent screen for the one free/busy scope. The callback accepts only that state, once,
from that browser and that user. Outcomes go back to /connect as ``?calendar=<code>``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from oo import routes
from oo.db import session_scope
from oo.http import limits, oauth_flow
from oo.http.caller import same_origin
from oo.integrations.google_calendar import CalendarError
from oo.services.accounts import sessions as accounts
from oo.services.push import calendar
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.api.calendar")


def _to_connect(settings: Settings, code: str) -> RedirectResponse:
    return oauth_flow.back_to(f"{settings.base_url}{routes.CONNECT}?calendar={code}", settings)


async def calendar_start(request: Request) -> Response:
    """Connect / Reconnect: single-use state bound to this browser and user, then off to Google."""
    settings = get_settings()
    if not same_origin(request, settings):
        return PlainTextResponse("Cross-site request refused.", status_code=403)
    cfg = calendar.config(settings)
    if cfg is None:
        return _to_connect(settings, "not_configured")
    if await limits.signin_limited(request, "calendar"):  # every start stores a login_flow row
        return _to_connect(settings, "slow_down")
    user = oauth_flow.session_user(request, settings)
    if user is None:
        return oauth_flow.redirect(f"{settings.base_url}{routes.SIGNIN}")
    try:
        url, binding = await calendar.start_connect(user_id=user.id, cfg=cfg)
    except CalendarError as exc:
        log.warning("calendar connect start failed: %s", exc)
        return _to_connect(settings, "unavailable")
    return oauth_flow.to_provider(url, binding, settings)


async def calendar_callback(request: Request) -> Response:
    """Google sends the browser back here with ``code`` and ``state`` (or ``error``)."""
    settings = get_settings()
    params = request.query_params
    cfg = calendar.config(settings)
    if cfg is None:
        return _to_connect(settings, "not_configured")
    binding = oauth_flow.flow_binding(request, settings)
    with session_scope() as session:
        flow = accounts.consume_flow(
            session=session, provider=calendar.PROVIDER, state=params.get("state"), binding=binding
        )
    user = oauth_flow.session_user(request, settings)
    if flow is None or user is None or flow.user_id != user.id:
        log.warning("calendar callback refused: unknown, replayed, expired or foreign state")
        return _to_connect(settings, "bad_state")
    if params.get("error") or not params.get("code") or len(params["code"]) > 2048:
        return _to_connect(settings, "denied" if params.get("error") == "access_denied" else "failed")
    result = await calendar.finish_connect(
        user_id=user.id, code=params["code"], verifier=flow.code_verifier, cfg=cfg
    )
    return _to_connect(settings, result.value)


ROUTES = [
    Route("/auth/google-calendar/start", calendar_start, methods=["POST"]),
    Route("/auth/google-calendar/callback", calendar_callback, methods=["GET"]),
]
