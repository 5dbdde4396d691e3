"""An ASGI middleware: security headers on every HTTP response, a year's caching for hashed build files.

Security headers go on pages, assets and routes alike. Without a ``Cache-Control`` the browser
revalidates every module of the page on each visit (the build sets only ``Last-Modified``, which
is recent): opening /tip cost some 30 conditional requests before the tip could show. A file under ``/assets/`` whose name carries the build's content hash
never changes, so it is cached for a year; anything else keeps the default.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oo.settings import get_settings

BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


HASHED_ASSET = re.compile(r"^/assets/[^/]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$")
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
CACHEABLE_STATUS = (200, 304)


class SecurityHeaders:
    """Security headers unless a route set its own; a year's caching for a hashed build file found.

    nosniff, Referrer-Policy, frame protection (and HSTS over https) go on every response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = list(BASE_HEADERS)
        if get_settings().secure_cookies:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.headers.append((b"content-security-policy", b"frame-ancestors 'none'"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to every HTTP response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        hashed = bool(HASHED_ASSET.match(scope.get("path", "")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = list(self.headers)
                if hashed and message.get("status") in CACHEABLE_STATUS:
                    extra.append(IMMUTABLE)
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
