"""Names and parsing of oO's HttpOnly cookies (set by server responses, never by browser JS)."""

from __future__ import annotations

import functools
from http.cookies import CookieError, SimpleCookie


def session_cookie_name(secure: bool) -> str:
    """``__Host-`` prefix when served over https (it requires Secure, Path=/ and no Domain)."""
    return "__Host-oo_session" if secure else "oo_session"


def flow_cookie_name(secure: bool) -> str:
    """The short-lived cookie binding an OAuth redirect to the browser that started it."""
    return "__Host-oo_flow" if secure else "oo_flow"


def read_cookie(header: str | None, name: str) -> str | None:
    """One cookie's value from a raw Cookie header, or None.

    Every websocket event reads its session cookie from the same header a few times (the rate
    limit, the tab binding, the user), so parses of recent short headers are remembered.

    Examples:
        >>> read_cookie("a=1; oo_session=abc", "oo_session")
        'abc'
        >>> read_cookie("garbage;;=", "oo_session") is None
        True
    """
    if not header:
        return None
    if len(header) > MEMO_HEADER_CHARS:
        return _parse(header, name)
    return _parse_memo(header, name)


MEMO_HEADER_CHARS = 4096  # longer headers are parsed each time, not kept


def _parse(header: str, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


_parse_memo = functools.lru_cache(maxsize=8192)(_parse)
