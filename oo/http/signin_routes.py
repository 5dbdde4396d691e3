"""HTTP routes for callers outside the app: sign-in redirects and callbacks, sign-out, demo sign-in.

Everything the page itself does goes over the websocket (event handlers); these routes exist
because an OAuth provider, a form post or an API client must reach a plain URL. They set and clear
the HttpOnly session cookie, which the websocket then reads at connect.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oo import loopback, routes
from oo.cookies import flow_cookie_name, read_cookie, session_cookie_name
from oo.db import session_scope
from oo.http import limits, oauth_flow
from oo.http.caller import same_origin
from oo.integrations import apple, oidc
from oo.integrations.apple import AppleKey
from oo.services.accounts import session_cache
from oo.services.accounts import sessions as accounts
from oo.settings import Settings, get_settings
from oo.state import tab_erasure

log = logging.getLogger("oo.http.signin_routes")
CALLBACK_MAX_BYTES = 16_384


def provider_config(settings: Settings, name: str) -> oidc.OidcProviderConfig | None:
    """The configured OIDC provider called ``name`` (google, apple), or None."""
    if name == "google" and settings.google_client_id:
        return oidc.OidcProviderConfig(
            name="google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            discovery_url=settings.google_discovery_url,
            redirect_uri=f"{settings.backend_url}/auth/google/callback",
        )
    if name == "apple" and settings.apple_client_id:
        return oidc.OidcProviderConfig(
            name="apple",
            client_id=settings.apple_client_id,
            client_secret=settings.apple_client_secret.get_secret_value(),
            discovery_url=settings.apple_discovery_url,
            redirect_uri=f"{settings.backend_url}/auth/apple/callback",
            scope="openid email name",  # Apple's scopes (no "profile"); the name comes only once, in `user`
            response_mode="form_post",
            signing_key=_apple_key(settings),
        )
    return None


def _apple_key(settings: Settings) -> AppleKey | None:
    """The key that signs Apple client secrets, when team, key id and private key are all set."""
    pem = settings.apple_private_key.get_secret_value()
    if not (settings.apple_team_id and settings.apple_key_id and pem):
        return None
    return AppleKey(team_id=settings.apple_team_id, key_id=settings.apple_key_id, private_key_pem=pem)


def page_url(settings: Settings, path: str, host: str | None = None, **query: str) -> str:
    """An absolute URL of a page (pages live on OO_BASE_URL, which differs from the backend in dev).

    ``host`` is the request's Host header: in development a caller on the other loopback name
    (``127.0.0.1`` vs ``localhost``) is sent back to that name, where its cookies live.
    """
    return f"{loopback.page_base(settings, host)}{path}" + (f"?{urlencode(query)}" if query else "")


def _set_session_cookie(resp: Response, settings: Settings, token: str) -> None:
    resp.set_cookie(
        session_cookie_name(settings.secure_cookies),
        token,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


async def auth_start(request: Request) -> Response:
    """Begin a sign-in: remember state/nonce/verifier server-side, bind them to this browser, redirect."""
    settings = get_settings()
    provider = provider_config(settings, request.path_params["provider"])
    if provider is None:
        return oauth_flow.redirect(page_url(settings, routes.SIGNIN, error="not_configured"))
    if await limits.signin_limited(request, "start"):  # every start stores a login_flow row
        return oauth_flow.redirect(page_url(settings, routes.SIGNIN, error="slow_down"))
    try:
        async with httpx.AsyncClient() as http:
            req = await oidc.start(http, provider)
    except oidc.OidcError as exc:
        log.warning("sign-in start failed for %s: %s", provider.name, exc.code)
        return oauth_flow.redirect(page_url(settings, routes.SIGNIN, error=exc.code))
    with session_scope() as session:
        binding = accounts.start_flow(
            session=session,
            provider=provider.name,
            state=req.state,
            nonce=req.nonce,
            code_verifier=req.code_verifier,
            next_path=request.query_params.get("next", routes.TIP),
        )
    # Apple posts the callback cross-site (form_post), which a Lax cookie would not survive.
    samesite = "none" if settings.secure_cookies and provider.response_mode else "lax"
    return oauth_flow.to_provider(req.url, binding, settings, samesite=samesite)


async def auth_callback(request: Request) -> Response:
    """Finish a sign-in: single-use state bound to this browser, code + verifier, validated ID token."""
    settings = get_settings()
    name = request.path_params["provider"]
    provider = provider_config(settings, name)
    params = dict(request.query_params)
    if request.method == "POST":  # Apple's form_post: a few small fields, no files
        if limits.declared_too_large(request.headers, CALLBACK_MAX_BYTES):
            return Response("Payload too large.", status_code=413)
        form = await request.form(max_files=0, max_fields=16, max_part_size=CALLBACK_MAX_BYTES)
        params.update({k: str(v) for k, v in form.items()})
    binding = read_cookie(request.headers.get("cookie"), flow_cookie_name(settings.secure_cookies))
    fail = _fail_redirect(settings)
    if provider is None:
        return fail("not_configured")
    with session_scope() as session:
        flow = accounts.consume_flow(
            session=session, provider=name, state=params.get("state"), binding=binding
        )
    if flow is None:
        log.warning("sign-in callback refused: unknown, replayed, expired or foreign state")
        return fail("bad_state")
    if "error" in params or not params.get("code"):
        return fail("denied" if params.get("error") == "access_denied" else "provider_error")
    try:
        async with httpx.AsyncClient() as http:
            identity = await oidc.finish(
                http,
                provider,
                code=params["code"],
                nonce=flow.nonce,
                code_verifier=flow.code_verifier,
                iss=params.get("iss"),
            )
    except oidc.OidcError as exc:
        log.warning("sign-in refused for %s: %s", name, exc.code)
        return fail(exc.code)
    with session_scope() as session:
        user = accounts.sign_in_oidc(
            session=session,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email,
            name=identity.name
            or (apple.name_from_user_field(params.get("user")) if name == "apple" else None),
            email_verified=identity.email_verified,
            admin_seed_email=settings.admin_seed_email,
        )
        assert user.id is not None
        token = accounts.create_session(session=session, user_id=user.id, days=settings.session_days)
    resp = oauth_flow.back_to(page_url(settings, flow.next_path, request.headers.get("host")), settings)
    _set_session_cookie(resp, settings, token)
    return resp


def _fail_redirect(settings: Settings):
    def fail(code: str) -> Response:
        return oauth_flow.back_to(page_url(settings, routes.SIGNIN, error=code), settings)

    return fail


async def auth_demo(request: Request) -> Response:
    """Demo sign-in (demo mode only): a fresh demo user with a session."""
    settings = get_settings()
    if not settings.demo_enabled:
        return Response("Demo mode is off.", status_code=404)
    if not same_origin(request, settings):
        return Response("Cross-site request refused.", status_code=403)
    if await limits.signin_limited(request, "demo"):  # every demo sign-in creates an account
        return oauth_flow.redirect(page_url(settings, routes.SIGNIN, error="slow_down"))
    with session_scope() as session:
        user = accounts.create_demo_user(session=session, admin=settings.demo_admin)
        assert user.id is not None
        token = accounts.create_session(session=session, user_id=user.id, days=settings.session_days)
    resp = oauth_flow.redirect(page_url(settings, routes.CONNECT, request.headers.get("host")))
    _set_session_cookie(resp, settings, token)
    return resp


async def auth_signout(request: Request) -> Response:
    """Revoke this browser's session server-side and clear the cookie."""
    settings = get_settings()
    if not same_origin(request, settings):
        return Response("Cross-site request refused.", status_code=403)
    name = session_cookie_name(settings.secure_cookies)
    token = read_cookie(request.headers.get("cookie"), name)
    with session_scope() as session:
        user = accounts.resolve_session(session=session, token=token, idle_days=settings.session_idle_days)
        accounts.revoke_session(session=session, token=token)
    session_cache.forget_token(token)  # every worker stops trusting it now
    if user is not None:  # the signed-out person's tab states (tip text, name) go with the session
        await tab_erasure.erase_user_tabs(user.id)
    resp = oauth_flow.redirect(page_url(settings, routes.SIGNIN, request.headers.get("host")))
    resp.delete_cookie(name, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax")
    return resp


# Matched after the Todoist routes (whose /auth/todoist/... paths are more specific).
ROUTES = [
    Route("/auth/demo", auth_demo, methods=["POST"]),
    Route("/auth/signout", auth_signout, methods=["POST"]),
]
PROVIDER_ROUTES = [
    Route("/auth/{provider:str}/start", auth_start, methods=["GET"]),
    Route("/auth/{provider:str}/callback", auth_callback, methods=["GET", "POST"]),
]
