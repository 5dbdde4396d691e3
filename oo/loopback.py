"""Both loopback names on a development machine: ``localhost`` and ``127.0.0.1``.

A newcomer runs ``make run`` and opens either address. Cookies are host-only, so a sign-in that
starts on ``127.0.0.1`` must post to, set its cookie on and redirect back to ``127.0.0.1`` — not
to the configured ``localhost``. In development, when the base URL is itself a loopback address,
the page's own loopback name is used for links, redirects and the accepted origins. Production
never does this: there the base URL is the one and only origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from oo.settings import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1")


def aliases_on(settings: Settings) -> bool:
    """True in development when the base URL is a loopback address (both names then work).

    Examples:
        >>> aliases_on(Settings(_env_file=None, env="development", base_url="http://localhost:3000"))
        True
        >>> aliases_on(Settings(_env_file=None, env="development", base_url="https://oo.example.com"))
        False
    """
    return settings.is_dev and urlsplit(settings.base_url).hostname in LOOPBACK_NAMES


def accepted_origins(settings: Settings) -> list[str]:
    """The browser origins allowed for the websocket, CORS and cookie-authenticated POSTs.

    Examples:
        >>> accepted_origins(Settings(_env_file=None, env="development", base_url="http://localhost:3000"))
        ['http://127.0.0.1:3000', 'http://localhost:3000']
    """
    backend = urlsplit(settings.backend_url)
    origins = {settings.origin, f"{backend.scheme}://{backend.netloc}"}
    if aliases_on(settings):
        ports = {urlsplit(settings.base_url).port or settings.port, backend.port or settings.port}
        origins |= {f"http://{name}:{port}" for name in LOOPBACK_NAMES for port in ports}
    return sorted(origins)


def _with_host(url: str, host: str | None, settings: Settings) -> str:
    """``url`` with its loopback host name replaced by the caller's loopback name (dev only)."""
    name = urlsplit(f"//{host}").hostname if host else None
    parts = urlsplit(url)
    if not aliases_on(settings) or name not in LOOPBACK_NAMES or parts.hostname not in LOOPBACK_NAMES:
        return url
    netloc = f"{name}:{parts.port}" if parts.port else str(name)
    return parts._replace(netloc=netloc).geturl()


def page_base(settings: Settings, host: str | None) -> str:
    """Where pages live, as seen by a caller that reached us at ``host`` (a Host header).

    Examples:
        >>> dev = Settings(_env_file=None, env="development", base_url="http://localhost:3000")
        >>> page_base(dev, "127.0.0.1:3000")
        'http://127.0.0.1:3000'
        >>> page_base(dev, "evil.example")
        'http://localhost:3000'
    """
    return _with_host(settings.base_url, host, settings)


def backend_base(settings: Settings, host: str | None) -> str:
    """Where HTTP routes live, as seen by a caller that reached us at ``host``."""
    return _with_host(settings.backend_url, host, settings)


def backend_link(settings: Settings, host: str | None, path: str) -> str:
    """A link from a page to an HTTP route: relative when pages and routes share one origin.

    Examples:
        >>> backend_link(Settings(_env_file=None, env="development", base_url="http://localhost:3000"), "x", "/auth/demo")
        '/auth/demo'
    """
    if settings.backend_url == settings.base_url:
        return path  # one port (make run, production): the browser keeps its own host name
    return backend_base(settings, host) + path
