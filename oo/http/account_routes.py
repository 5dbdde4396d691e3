"""HTTP route of "Download my data" (U9): the caller's own data as a JSON file.

A download must be a real HTTP response (``Content-Disposition: attachment``), so it cannot go
over the websocket. The route is a POST from a native form on /connect: the user comes only from
the HttpOnly session cookie (never from the request), the Origin must be our own (CSRF), and the
answer is never cached.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from oo import offload, routes
from oo.cookies import read_cookie, session_cookie_name
from oo.db import session_scope
from oo.http.caller import same_origin
from oo.models import utcnow
from oo.services.accounts import sessions as accounts
from oo.services.privacy import your_data
from oo.settings import get_settings

log = logging.getLogger("oo.http.account_routes")


def _export(token: str | None) -> dict | None:
    settings = get_settings()
    with session_scope() as session:
        user = accounts.resolve_session(session=session, token=token, idle_days=settings.session_idle_days)
        if user is None:
            return None
        return your_data.export(session=session, user_id=user.id)


async def download_my_data(request: Request) -> Response:
    """Everything oO holds about the signed-in caller, as ``oo-my-data-<date>.json``."""
    settings = get_settings()
    if not same_origin(request, settings):
        return PlainTextResponse("Cross-site request refused.", status_code=403)
    token = read_cookie(request.headers.get("cookie"), session_cookie_name(settings.secure_cookies))
    try:
        data = await offload.slow(_export, token)
    except Exception:
        log.exception("exporting a user's data failed")
        return PlainTextResponse("Your data could not be put together. Please try again.", status_code=500)
    if data is None:
        return PlainTextResponse("Please sign in first.", status_code=401)
    name = f"oo-my-data-{utcnow().date().isoformat()}.json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES = [Route(routes.MY_DATA, download_my_data, methods=["POST"])]
