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

from oo.integrations.push_subscription import (
    DEFAULT_ALLOWED_HOSTS,
    Subscription,
    b64url_decode,
    b64url_encode,
    host_allowed,
)

logger = logging.getLogger(__name__)

MAX_PLAINTEXT = 3993  # RFC 8291 §4: 4096-octet body minus 86 header, 1 delimiter, 16 tag
RECORD_SIZE = 4096  # rs > the whole plaintext, so the body is always one record
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
VAPID_EXPIRY = 12 * 3600  # RFC 8292 §2 caps exp at 24 h; half leaves room for clock skew
_VAPID_REFRESH = 3600  # re-sign a cached token once less than this is left
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

DeliveryStatus = Literal["delivered", "gone", "retry", "rejected"]


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


def _public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def generate_vapid_keys() -> VapidKeys:
    """Generate a new VAPID (application server) key pair on P-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(private_key=b64url_encode(raw), public_key=b64url_encode(_public_bytes(key)))


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
