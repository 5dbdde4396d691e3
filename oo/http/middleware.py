"""Security headers on every HTTP response (pages, assets, routes): an ASGI middleware."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oo.settings import get_settings

BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds nosniff, Referrer-Policy, frame protection (and HSTS over https) unless a route set its own."""

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

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k, v) for k, v in self.headers if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
