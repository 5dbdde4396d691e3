"""Web Push adapter: RFC 8291 payload encryption, RFC 8292 VAPID and RFC 8030 delivery.

Encryption (``aes128gcm``) comes from ``http_ece`` and JWT signing from ``py_vapid``, the
libraries pywebpush itself is built on; pywebpush's own ``webpush_async`` cannot pin the
salt or sender key (so the RFC 8291 test vector could not be checked) and re-signs a JWT
for every message. HTTP goes through aiohttp by default, which sustained roughly ten times
the loopback request rate of httpx at the same concurrency; an ``httpx.AsyncClient`` can be
injected instead (tests use ``httpx.MockTransport``). The endpoint and keys of a
subscription are capabilities: they are never logged, only a short hash of the endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import http_ece
import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from py_vapid.jwt import sign as sign_jwt

logger = logging.getLogger(__name__)

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
)
MAX_PLAINTEXT = 3993  # RFC 8291 §4: 4096-octet body minus 86 header, 1 delimiter, 16 tag
RECORD_SIZE = 4096  # rs > the whole plaintext, so the body is always one record
MAX_ENDPOINT_LENGTH = 2048
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
VAPID_EXPIRY = 12 * 3600  # RFC 8292 §2 caps exp at 24 h; half leaves room for clock skew
_VAPID_REFRESH = 3600  # re-sign a cached token once less than this is left
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")

DeliveryStatus = Literal["delivered", "gone", "retry", "rejected"]


class WebPushError(Exception):
    """Base class for Web Push errors."""


class InvalidSubscription(WebPushError, ValueError):
    """A subscription from the browser failed validation."""


@dataclass(frozen=True)
class VapidKeys:
    """An application server key pair, both base64url without padding.

    Attributes:
        private_key: The raw 32-byte P-256 private scalar (what ``WebPushSender`` takes).
        public_key: The 65-byte uncompressed point: the browser's ``applicationServerKey``.
    """

    private_key: str
    public_key: str


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


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one push message.

    Attributes:
        status: ``delivered``; ``gone`` (404/410: delete the subscription); ``retry``
            (429, 5xx or network error); ``rejected`` (413, other 4xx, or refused locally).
        status_code: The push service's HTTP status, or None if nothing was sent.
        retry_after: Seconds to wait before retrying, when the service said so.
        reason: A short human-readable explanation (never contains the endpoint).
    """

    status: DeliveryStatus
    status_code: int | None = None
    retry_after: float | None = None
    reason: str = ""


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


def _public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def generate_vapid_keys() -> VapidKeys:
    """Generate a new VAPID (application server) key pair on P-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(private_key=b64url_encode(raw), public_key=b64url_encode(_public_bytes(key)))


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


def validate_topic(topic: str) -> str:
    """Return ``topic`` if it is 1-32 base64url characters (RFC 8030 §5.4).

    Raises:
        ValueError: Otherwise.
    """
    if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
        raise ValueError("topic must be 1-32 base64url characters")
    return topic


def make_topic(user_key: str, *, secret: bytes = b"") -> str:
    """Derive a stable 32-character base64url Topic from a per-user key.

    The push service sees the Topic, so pass a ``secret`` when ``user_key`` is guessable.

    Examples:
        >>> t = make_topic("user-42")
        >>> len(t), t == make_topic("user-42"), t == make_topic("user-43")
        (32, True, False)
    """
    digest = hmac.new(secret, b"oo.topic:" + user_key.encode(), hashlib.sha256).digest()
    return b64url_encode(digest[:24])


def encrypt_payload(
    plaintext: bytes,
    subscription: Subscription,
    *,
    salt: bytes | None = None,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """Encrypt one message body with ``aes128gcm`` for a subscription (RFC 8291).

    Args:
        plaintext: At most ``MAX_PLAINTEXT`` bytes.
        subscription: The receiving browser's keys.
        salt: 16 random bytes; pinned only by tests.
        sender_key: The ephemeral ECDH key; pinned only by tests.

    Returns:
        The body: salt, rs, the 65-byte sender key as keyid, then one record.

    Raises:
        ValueError: If the plaintext is too large for a single 4096-byte push message.
    """
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"payload is {len(plaintext)} bytes; the limit is {MAX_PLAINTEXT}")
    return http_ece.encrypt(
        plaintext,
        salt=salt,
        private_key=sender_key or ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(subscription.p256dh),
        auth_secret=b64url_decode(subscription.auth),
        rs=RECORD_SIZE,
        version="aes128gcm",
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_response(
    status_code: int, *, retry_after: str | None = None, reason: str = ""
) -> DeliveryResult:
    """Map a push service's HTTP status to a ``DeliveryResult`` (RFC 8030 §6, §7)."""
    if 200 <= status_code < 300:
        return DeliveryResult("delivered", status_code)
    if status_code in (404, 410):
        return DeliveryResult("gone", status_code, reason=reason or "subscription expired")
    if status_code == 429 or status_code >= 500:
        return DeliveryResult("retry", status_code, _retry_after(retry_after), reason)
    if status_code == 413:
        return DeliveryResult("rejected", status_code, reason=reason or "payload too large")
    return DeliveryResult("rejected", status_code, reason=reason or f"HTTP {status_code}")


class WebPushSender:
    """Sends encrypted, VAPID-signed push messages.

    Args:
        vapid_private_key: The base64url raw 32-byte private key from ``generate_vapid_keys``
            (py_vapid also accepts a base64url DER key).
        vapid_subject: A ``mailto:`` or ``https:`` contact for the push service operator.
        allowed_hosts: Hosts or origins that may be POSTed to (see ``host_allowed``).
        timeout: Seconds per request; push services answer quickly, and a hung
            connection must not hold a concurrency slot for long.
        max_concurrency: Requests in flight at once, across all callers of ``send``.
        http: An httpx or aiohttp client to use instead of the sender's own aiohttp
            session; the sender never closes an injected client.
    """

    def __init__(
        self,
        vapid_private_key: str,
        vapid_subject: str,
        *,
        allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        timeout: float = 10.0,
        max_concurrency: int = 100,
        http: httpx.AsyncClient | aiohttp.ClientSession | None = None,
    ) -> None:
        """Load the VAPID key and set up the HTTP client."""
        if not vapid_subject.startswith(("mailto:", "https:")):
            raise ValueError("vapid_subject must start with mailto: or https:")
        self._key: ec.EllipticCurvePrivateKey = Vapid.from_string(vapid_private_key).private_key
        self.application_server_key = b64url_encode(_public_bytes(self._key))
        self._subject = vapid_subject
        self._allowed = tuple(allowed_hosts)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._slots = asyncio.Semaphore(max_concurrency)
        self._timeout, self._max_concurrency = timeout, max_concurrency
        self._owns_http = http is None
        self._http = http  # aiohttp wants a running loop, so our own session starts in send()

    async def __aenter__(self) -> WebPushSender:
        """Return self."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client if this sender created it."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._owns_http and isinstance(self._http, aiohttp.ClientSession):
            await self._http.close()
        self._http = None if self._owns_http else self._http

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None, str]:
        """POST without following redirects (they could point anywhere); return status, Retry-After, text."""
        if isinstance(self._http, httpx.AsyncClient):
            response = await self._http.post(url, content=body, headers=headers, follow_redirects=False)
            return response.status_code, response.headers.get("Retry-After"), response.text
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                connector=aiohttp.TCPConnector(limit=self._max_concurrency),
            )
        async with self._http.post(url, data=body, headers=headers, allow_redirects=False) as reply:
            text = (await reply.read()).decode(errors="replace")
            return reply.status, reply.headers.get("Retry-After"), text

    def authorization(self, endpoint: str, *, now: float | None = None) -> str:
        """Return ``vapid t=<jwt>, k=<key>`` for the endpoint's origin (RFC 8292 §3).

        Tokens are cached per origin and re-signed an hour before they expire.
        """
        now = time.time() if now is None else now
        parts = urlsplit(endpoint)
        aud = f"{parts.scheme}://{parts.netloc}"
        cached = self._tokens.get(aud)
        if cached and cached[1] - now > _VAPID_REFRESH:
            return cached[0]
        exp = int(now) + VAPID_EXPIRY
        token = sign_jwt({"aud": aud, "exp": exp, "sub": self._subject}, self._key)
        header = f"vapid t={token}, k={self.application_server_key}"
        if len(self._tokens) >= 256:  # wildcard hosts could grow this without bound
            self._tokens.clear()
        self._tokens[aud] = (header, exp)
        return header

    async def send(
        self,
        subscription: Subscription,
        payload: Mapping[str, Any],
        *,
        topic: str,
        ttl: int,
        urgency: str = "normal",
    ) -> DeliveryResult:
        """Encrypt ``payload`` as JSON and POST it to the subscription's push service.

        Args:
            subscription: A subscription from ``parse_subscription``.
            payload: JSON-serialisable message, e.g. ``{title, body, url, tag}``.
            topic: The RFC 8030 Topic, so a newer message replaces an undelivered one.
            ttl: Seconds the push service may hold the message.
            urgency: One of ``very-low``, ``low``, ``normal``, ``high``.

        Returns:
            The delivery result; network errors become ``retry``, never exceptions.

        Raises:
            ValueError: For an invalid topic, ttl or urgency (a caller bug).
        """
        validate_topic(topic)
        if not isinstance(ttl, int) or ttl < 0:
            raise ValueError("ttl must be a non-negative integer")
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {sorted(URGENCIES)}")
        fp = subscription.fingerprint
        if not host_allowed(subscription.endpoint, self._allowed):
            logger.warning("push %s refused: endpoint host not allowed", fp)
            return DeliveryResult("rejected", reason="endpoint host not allowed")
        plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        if len(plaintext) > MAX_PLAINTEXT:
            return DeliveryResult("rejected", reason=f"payload {len(plaintext)} bytes > {MAX_PLAINTEXT}")
        headers = {
            "Authorization": self.authorization(subscription.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
            "Topic": topic,
        }
        body = encrypt_payload(plaintext, subscription)
        async with self._slots:
            try:
                status, retry_after, text = await self._post(subscription.endpoint, body, headers)
            except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
                logger.info("push %s: network error %s", fp, type(exc).__name__)
                return DeliveryResult("retry", reason=type(exc).__name__)
        reason = "" if 200 <= status < 300 else text[:200].replace(subscription.endpoint, fp)
        result = classify_response(status, retry_after=retry_after, reason=reason)
        level = logging.DEBUG if result.status == "delivered" else logging.INFO
        logger.log(level, "push %s: %s (HTTP %s)", fp, result.status, status)
        return result
