"""The machine's own servers for scale-out tests: Postgres, Redis and NATS on loopback."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest


def reachable(url: str, default_port: int) -> bool:
    """Whether something accepts TCP connections at the URL's host and port within a second."""
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def scaleout_marks(url: str, default_port: int, what: str) -> list[pytest.MarkDecorator]:
    """Marks of a scale-out test module: scaleout, anyio, and a skip only outside CI.

    Every machine of this project (CI included) runs these servers on loopback, so in CI a missing
    server fails the tests instead of skipping them silently.
    """
    return [
        pytest.mark.scaleout,
        pytest.mark.anyio,
        pytest.mark.skipif(
            not reachable(url, default_port) and not os.environ.get("CI"), reason=f"no {what} at {url}"
        ),
    ]
