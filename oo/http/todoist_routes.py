"""HTTP routes of the Todoist integration: OAuth connect (start, callback) and the webhook.

Connect is a native form POST from /connect (same-origin checked) that redirects to Todoist; the
callback only accepts a state issued to this browser for this signed-in user, once. Outcomes go
back to /connect as ``?todoist=<code>``, which the page turns into a clear message. The webhook
verifies the HMAC over the raw body before reading it.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from oo import loopback, routes
from oo.db import session_scope
from oo.http import limits, oauth_flow
from oo.http.caller import same_origin
from oo.integrations.todoist import WebhookPayloadError, verify_signature
from oo.integrations.todoist.webhooks import DELIVERY_ID_HEADER, SIGNATURE_HEADER
from oo.models import TODOIST, LoginFlow
from oo.services.accounts import sessions as accounts
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from oo.services.sources.todoist import webhooks as todoist_webhooks
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.http.signin_routes.todoist")

WEBHOOK_MAX_BYTES = 1 << 20  # Todoist's own request body limit


def _to_connect(settings: Settings, code: str, host: str | None = None) -> RedirectResponse:
    return oauth_flow.back_to(
        f"{loopback.page_base(settings, host)}{routes.CONNECT}?todoist={code}", settings
    )


def _config(settings: Settings, host: str | None) -> todoist.TodoistConfig | None:
    """The Todoist config with the callback on the loopback name the browser uses (development)."""
    cfg = todoist.config(settings)
    if cfg is None:
        return None
    return replace(cfg, redirect_uri=f"{loopback.backend_base(settings, host)}{todoist.CALLBACK_PATH}")


async def todoist_start(request: Request) -> Response:
    """Connect / Reconnect: a single-use state bound to this browser and user, then off to Todoist."""
    settings = get_settings()
    if not same_origin(request, settings):
        return PlainTextResponse("Cross-site request refused.", status_code=403)
    host = request.headers.get("host")
    cfg = _config(settings, host)
    if cfg is None:
        return _to_connect(settings, "not_configured", host)
    if await limits.signin_limited(request, "todoist"):  # every start stores a login_flow row
        return _to_connect(settings, "slow_down", host)
    user = oauth_flow.session_user(request, settings)
    if user is None:
        return oauth_flow.redirect(f"{loopback.page_base(settings, host)}{routes.SIGNIN}")
    with session_scope() as session:
        url, binding = todoist.start_connect(session=session, user_id=user.id, cfg=cfg)
    return oauth_flow.to_provider(url, binding, settings)


async def todoist_callback(request: Request) -> Response:
    """Todoist sends the browser back here with ``code`` and ``state`` (or ``error``)."""
    settings = get_settings()
    params, host = request.query_params, request.headers.get("host")
    cfg = _config(settings, host)
    if cfg is None:
        return _to_connect(settings, "not_configured", host)
    binding = oauth_flow.flow_binding(request, settings)
    with session_scope() as session:
        flow = todoist_flow(session=session, state=params.get("state"), binding=binding)
    user = oauth_flow.session_user(request, settings)
    if flow is None or user is None or flow.user_id != user.id:
        log.warning("Todoist callback refused: unknown, replayed, expired or foreign state")
        return _to_connect(settings, "bad_state", host)
    if params.get("error") or not params.get("code"):
        return _to_connect(settings, "denied" if params.get("error") == "access_denied" else "failed", host)
    result = await todoist.finish_connect(user_id=user.id, code=params["code"], cfg=cfg)
    if result is todoist.ConnectResult.CONNECTED:
        await todoist_sync.refresh(user_id=user.id, budget=todoist_sync.FIRST_SYNC_BUDGET)
    return _to_connect(settings, result.value, host)


def todoist_flow(*, session: Session, state: str | None, binding: str | None) -> LoginFlow | None:
    """The pending Todoist flow for this state and browser, consumed (single use)."""
    return accounts.consume_flow(session=session, provider=TODOIST, state=state, binding=binding)


async def todoist_webhook(request: Request) -> Response:
    """Verified, idempotent Todoist webhook: 401 bad signature, 400 malformed, 200 otherwise."""
    cfg = todoist.config()
    try:
        body = await limits.read_capped(request, WEBHOOK_MAX_BYTES)
    except limits.BodyTooLarge:
        return PlainTextResponse("Payload too large.", status_code=413)
    secret = cfg.client_secret if cfg else ""
    if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret):
        log.warning("Todoist webhook with a missing or bad signature refused")
        return PlainTextResponse("Bad signature.", status_code=401)
    try:
        outcome = await todoist_webhooks.receive(
            raw_body=body, delivery_id=request.headers.get(DELIVERY_ID_HEADER)
        )
    except WebhookPayloadError as exc:
        log.warning("malformed Todoist webhook: %s", exc)
        return PlainTextResponse("Malformed body.", status_code=400)
    return PlainTextResponse(outcome.value, status_code=200)


ROUTES = [
    Route("/auth/todoist/start", todoist_start, methods=["POST"]),
    Route("/auth/todoist/callback", todoist_callback, methods=["GET"]),
    Route("/webhooks/todoist", todoist_webhook, methods=["POST"]),
]
