"""A local Web Push service for tests: issues subscriptions, verifies VAPID, decrypts bodies.

It plays the browser vendor's push service on loopback. Verification and RFC 8291
decryption are written here from the RFCs with ``cryptography`` only, independently of
``http_ece``/``py_vapid``, so a test that passes is a real cross-check of the sender.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

MAX_BODY = 4096  # RFC 8030 §7.2 / RFC 8291 §4
URGENCIES = {"very-low", "low", "normal", "high"}
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class PushRejected(Exception):
    """A request the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        """Keep the status, reason and any response headers."""
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


def b64d(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    """Encode base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract with SHA-256 (RFC 5869 §2.2)."""
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand with SHA-256 for at most one block (all RFC 8291 needs)."""
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point of a P-256 key."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def derive(
    ua_private: ec.EllipticCurvePrivateKey, as_public: bytes, auth: bytes, salt: bytes
) -> dict[str, bytes]:
    """Compute the RFC 8291 §3.4 key schedule, returning the Appendix A intermediates."""
    as_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    v: dict[str, bytes] = {"ecdh_secret": ua_private.exchange(ec.ECDH(), as_key)}
    v["PRK_key"] = hkdf_extract(auth, v["ecdh_secret"])
    v["key_info"] = b"WebPush: info\x00" + point(ua_private) + as_public
    v["IKM"] = hkdf_expand(v["PRK_key"], v["key_info"], 32)
    v["PRK"] = hkdf_extract(salt, v["IKM"])
    v["cek_info"] = b"Content-Encoding: aes128gcm\x00"
    v["CEK"] = hkdf_expand(v["PRK"], v["cek_info"], 16)
    v["nonce_info"] = b"Content-Encoding: nonce\x00"
    v["NONCE"] = hkdf_expand(v["PRK"], v["nonce_info"], 12)
    return v


def decrypt_body(body: bytes, *, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """Decrypt an RFC 8291 ``aes128gcm`` push body, enforcing the §4 restrictions.

    Raises:
        PushRejected: 413 if over 4096 bytes, 400 for any other violation.
    """
    if len(body) > MAX_BODY:
        raise PushRejected(413, "payload too large")
    if len(body) < 21:
        raise PushRejected(400, "truncated header")
    salt, (rs,), idlen = body[:16], struct.unpack("!L", body[16:20]), body[20]
    if idlen != 65:
        raise PushRejected(400, "keyid must be a 65-byte P-256 point")
    keyid, record = body[21:86], body[86:]
    if len(record) < 18 or rs < 18:
        raise PushRejected(400, "record too short")
    if len(record) > rs:
        raise PushRejected(400, "more than one record")
    try:
        v = derive(private_key, keyid, auth, salt)
        plain = AESGCM(v["CEK"]).decrypt(v["NONCE"], record, None)
    except (ValueError, InvalidTag) as exc:
        raise PushRejected(400, "decryption failed") from exc
    stripped = plain.rstrip(b"\x00")
    if not stripped or stripped[-1] != 2:
        raise PushRejected(400, "last record must end with the 0x02 delimiter")
    return stripped[:-1]


def verify_vapid(authorization: str, *, audience: str, now: float) -> tuple[dict[str, Any], str]:
    """Verify ``Authorization: vapid t=<jwt>, k=<key>`` (RFC 8292 §2, §3).

    Returns:
        The JWT claims and the ``k`` public key.

    Raises:
        PushRejected: 401 for any failure.
    """
    scheme, _, rest = authorization.partition(" ")
    params = dict(p.strip().partition("=")[::2] for p in rest.split(","))
    if scheme.lower() != "vapid" or not params.get("t") or not params.get("k"):
        raise PushRejected(401, "expected 'vapid t=..., k=...'")
    try:
        header_b64, claims_b64, sig_b64 = params["t"].split(".")
        header, claims = json.loads(b64d(header_b64)), json.loads(b64d(claims_b64))
        sig = b64d(sig_b64)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(params["k"]))
        if not isinstance(claims, dict) or header.get("alg") != "ES256" or len(sig) != 64:
            raise ValueError("not ES256")
        der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature) as exc:
        raise PushRejected(401, f"bad VAPID token: {type(exc).__name__}") from exc
    if claims.get("aud") != audience:
        raise PushRejected(401, "aud is not this push service's origin")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + 86400:
        raise PushRejected(401, "exp must be in the future and at most 24 h ahead")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise PushRejected(401, "sub must be a mailto: or https: contact")
    return claims, params["k"]


@dataclass
class PushMessage:
    """One accepted message, decrypted."""

    sub_id: str
    payload: Any
    headers: dict[str, str]
    claims: dict[str, Any]
    ttl: int
    urgency: str
    topic: str | None


@dataclass
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    expected_key: str | None
    status: int | None = None
    retry_after: str | None = None
    log: list[PushMessage] = field(default_factory=list)
    pending: list[PushMessage] = field(default_factory=list)
    delivered: list[PushMessage] = field(default_factory=list)


def _check_headers(headers: Any) -> tuple[int, str, str | None]:
    ttl, urgency, topic = headers.get("ttl"), headers.get("urgency", "normal"), headers.get("topic")
    if ttl is None or not ttl.isdigit():
        raise PushRejected(400, "TTL header must be a non-negative integer")
    if urgency not in URGENCIES:
        raise PushRejected(400, "invalid Urgency")
    if topic is not None and not _TOPIC_RE.match(topic):
        raise PushRejected(400, "Topic must be at most 32 base64url characters")
    if headers.get("content-encoding") != "aes128gcm":
        raise PushRejected(400, "Content-Encoding must be aes128gcm")
    return int(ttl), urgency, topic


class FakePushService:
    """A push service on a free 127.0.0.1 port, run by uvicorn in a background thread.

    Args:
        expected_key: If set, every push must carry this VAPID ``k`` (else 403).
    """

    def __init__(self, *, expected_key: str | None = None) -> None:
        """Create the app; ``with`` starts and stops the server."""
        self.expected_key = expected_key
        self._lock = threading.Lock()
        self._subs: dict[str, _Subscriber] = {}
        self._counts = {"requests": 0, "accepted": 0, "rejected": 0}
        self.app = Starlette(routes=[Route("/push/{sub_id}", self._push, methods=["POST"])])
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> FakePushService:
        """Start serving and wait until the socket accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake push service did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def new_subscription(self, *, application_server_key: str | None = None) -> dict[str, Any]:
        """Create a browser-side key pair and auth secret; return ``PushSubscription.toJSON()``."""
        sub_id = uuid.uuid4().hex
        key, auth = ec.generate_private_key(ec.SECP256R1()), uuid.uuid4().bytes
        with self._lock:
            self._subs[sub_id] = _Subscriber(key, auth, application_server_key or self.expected_key)
        return {
            "endpoint": f"{self.origin}/push/{sub_id}",
            "keys": {"p256dh": b64e(point(key)), "auth": b64e(auth)},
        }

    @staticmethod
    def sub_id(subscription: dict[str, Any]) -> str:
        """The id of a subscription returned by ``new_subscription``."""
        return str(subscription["endpoint"]).rsplit("/", 1)[-1]

    def set_status(self, sub_id: str, status: int | None, *, retry_after: str | None = None) -> None:
        """Make a subscription answer ``status`` (e.g. 404, 410, 429, 500); None restores it."""
        with self._lock:
            self._subs[sub_id].status, self._subs[sub_id].retry_after = status, retry_after

    def messages(self, sub_id: str) -> list[PushMessage]:
        """Every message accepted for a subscription, in arrival order."""
        with self._lock:
            return list(self._subs[sub_id].log)

    def pending(self, sub_id: str) -> list[PushMessage]:
        """Messages not yet delivered (a newer one with the same Topic replaced the older)."""
        with self._lock:
            return list(self._subs[sub_id].pending)

    def delivered(self, sub_id: str) -> list[PushMessage]:
        """Messages handed to the browser by ``deliver_all``."""
        with self._lock:
            return list(self._subs[sub_id].delivered)

    def deliver_all(self) -> int:
        """Deliver every pending message (the browser came online); return how many."""
        with self._lock:
            count = 0
            for sub in self._subs.values():
                sub.delivered.extend(sub.pending)
                count += len(sub.pending)
                sub.pending.clear()
            return count

    def counts(self) -> dict[str, int]:
        """Totals: ``requests``, ``accepted`` and ``rejected``."""
        with self._lock:
            return dict(self._counts)

    async def _push(self, request: Request) -> Response:
        body = await request.body()
        try:
            self._accept(request.path_params["sub_id"], request.headers, body)
        except PushRejected as exc:
            with self._lock:
                self._counts["rejected"] += 1
            return PlainTextResponse(exc.reason, status_code=exc.status, headers=exc.headers)
        with self._lock:
            self._counts["accepted"] += 1
        return Response(status_code=201, headers={"Location": f"/message/{uuid.uuid4().hex}"})

    def _accept(self, sub_id: str, headers: Any, body: bytes) -> PushMessage:
        with self._lock:
            self._counts["requests"] += 1
            sub = self._subs.get(sub_id)
            if sub is None:
                raise PushRejected(404, "no such subscription")
            if sub.status is not None:
                extra = {"Retry-After": sub.retry_after} if sub.retry_after else None
                raise PushRejected(sub.status, f"forced status {sub.status}", extra)
        claims, k = verify_vapid(headers.get("authorization", ""), audience=self.origin, now=time.time())
        if sub.expected_key is not None and k != sub.expected_key:
            raise PushRejected(403, "VAPID key does not match the subscription's applicationServerKey")
        ttl, urgency, topic = _check_headers(headers)
        plain = decrypt_body(body, private_key=sub.private_key, auth=sub.auth)
        try:
            payload = json.loads(plain)
        except ValueError as exc:
            raise PushRejected(400, "payload is not JSON") from exc
        wanted = ("ttl", "urgency", "topic", "content-encoding", "content-type", "authorization")
        message = PushMessage(
            sub_id, payload, {h: headers[h] for h in wanted if h in headers}, claims, ttl, urgency, topic
        )
        with self._lock:
            sub.log.append(message)
            if topic is not None:
                sub.pending[:] = [m for m in sub.pending if m.topic != topic]
            sub.pending.append(message)
        return message
