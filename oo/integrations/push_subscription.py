"""Push subscriptions as oO accepts them: a browser's ``PushSubscription.toJSON()``, validated.

The endpoint is a capability URL oO will POST to later, so it must be https on a known push
service. Its host is parsed and normalised (IDNA both ways, clean DNS labels; percent-encoding,
control, space and backslash characters refused) before the allow-list's suffix check, so no
spelling of a host slips past it. The keys must be a P-256 point and a 16-byte auth secret. The
endpoint and keys are capabilities: only `Subscription.fingerprint` is ever logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
)
MAX_ENDPOINT_LENGTH = 2048
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class WebPushError(Exception):
    """Base class for Web Push errors."""


class InvalidSubscription(WebPushError, ValueError):
    """A subscription from the browser failed validation."""


@dataclass(frozen=True)
class Subscription:
    """A validated browser ``PushSubscription`` (see ``parse_subscription``)."""

    endpoint: str
    p256dh: str
    auth: str

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id of the endpoint that is safe to log."""
        return hashlib.sha256(self.endpoint.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """Return the browser-style JSON shape ``{endpoint, keys: {p256dh, auth}}``."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode strict base64url (padding optional).

    Raises:
        ValueError: If ``text`` is not base64url.
    """
    if not isinstance(text, str) or not _B64URL_RE.match(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_host(host: str) -> str | None:
    """The host as DNS would see it (IDNA, lower case, no trailing dot), or None if it is not a clean name.

    Percent-encoding, control or space characters, backslashes and empty or non-LDH labels are
    refused, so a later suffix check compares what a resolver would really look up.

    Examples:
        >>> normalize_host("FCM.googleapis.com.")
        'fcm.googleapis.com'
        >>> normalize_host("bücher.example")
        'xn--bcher-kva.example'
        >>> [normalize_host(h) for h in ("127.0.0.1%00.push.apple.com", "a b.push.apple.com", "a..b")]
        [None, None, None]
    """
    if not host or any(ch in "%\\" or ord(ch) < 33 or ord(ch) == 127 for ch in host):
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
        ascii_host.encode("ascii").decode("idna")  # and back: a bad punycode label fails here
    except UnicodeError:
        return None
    if ascii_host.endswith("."):
        ascii_host = ascii_host[:-1]
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    return ascii_host


def host_allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """Tell whether ``url`` may be POSTed to (the SSRF guard).

    An allow-list entry is either a host pattern (``fcm.googleapis.com``, ``*.push.apple.com``),
    which requires https on the default port, or an exact origin (``http://127.0.0.1:8123``),
    which tests use for a loopback push service. The URL is refused outright when it holds a
    control, space or backslash character anywhere; its host is normalised (`normalize_host`)
    before any comparison.

    Examples:
        >>> host_allowed("https://x.push.apple.com/a", ["*.push.apple.com"])
        True
        >>> host_allowed("https://127.0.0.1%00.push.apple.com/x", ["*.push.apple.com"])
        False
    """
    if any(ord(ch) < 33 or ord(ch) == 127 or ch == "\\" for ch in url):
        return False
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    raw_host = parts.netloc.rsplit("@", 1)[-1]
    raw_host = raw_host[: raw_host.rfind(":")] if parts.port is not None else raw_host
    if "%" in raw_host:
        return False
    host = normalize_host(parts.hostname)
    if host is None:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    for entry in allowed_hosts:
        entry = entry.lower()
        if "://" in entry:
            if origin == entry.rstrip("/"):
                return True
        elif parts.scheme == "https" and port in (None, 443):
            if entry.startswith("*."):
                if host.endswith(entry[1:]):
                    return True
            elif host == entry:
                return True
    return False


def parse_subscription(
    data: Mapping[str, Any], *, allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS
) -> Subscription:
    """Validate a browser ``PushSubscription.toJSON()`` object.

    Args:
        data: ``{"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}``; other keys ignored.
        allowed_hosts: Push-service hosts or origins the endpoint may point at.

    Returns:
        The validated subscription.

    Raises:
        InvalidSubscription: With a message naming the first problem found.
    """
    if not isinstance(data, Mapping):
        raise InvalidSubscription("subscription must be a JSON object")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise InvalidSubscription("endpoint must be a URL of at most 2048 characters")
    if not host_allowed(endpoint, allowed_hosts):
        raise InvalidSubscription("endpoint must be https on an allowed push-service host")
    keys = data.get("keys")
    if not isinstance(keys, Mapping):
        raise InvalidSubscription("keys must be an object with p256dh and auth")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        point = b64url_decode(p256dh)  # type: ignore[arg-type]
        if len(point) != 65 or point[0] != 4:
            raise ValueError("wrong length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise InvalidSubscription("keys.p256dh must be a base64url 65-byte uncompressed P-256 point") from exc
    try:
        if len(b64url_decode(auth)) != 16:  # type: ignore[arg-type]
            raise ValueError("wrong length")
    except ValueError as exc:
        raise InvalidSubscription("keys.auth must be 16 bytes, base64url") from exc
    return Subscription(endpoint=endpoint, p256dh=p256dh, auth=auth)  # type: ignore[arg-type]
