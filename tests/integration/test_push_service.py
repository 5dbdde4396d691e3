"""Real Web Push sends over loopback to the local FakePushService."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from oo.integrations.push_subscription import parse_subscription
from oo.integrations.webpush import WebPushSender, generate_vapid_keys, make_topic
from tests.fakes.push_service import FakePushService, b64e, point

VAPID = generate_vapid_keys()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePushService]:
    with FakePushService(expected_key=VAPID.public_key) as service:
        yield service


@pytest.fixture
async def sender(fake: FakePushService) -> AsyncIterator[WebPushSender]:
    async with WebPushSender(VAPID.private_key, "mailto:ops@oo.example", allowed_hosts=(fake.origin,)) as s:
        yield s


def fake_keys() -> dict[str, str]:
    return {"p256dh": b64e(point(ec.generate_private_key(ec.SECP256R1()))), "auth": b64e(b"\x02" * 16)}


def _tip(n: int) -> dict[str, str]:
    return {"title": "oO", "body": f"tip {n}", "url": "/tip", "tag": make_topic("user-1")}


@pytest.mark.anyio
async def test_send_is_decrypted_and_verified_by_the_push_service(fake, sender):
    raw = fake.new_subscription()
    sub = parse_subscription(raw, allowed_hosts=(fake.origin,))
    topic = make_topic("user-1")
    result = await sender.send(sub, _tip(1), topic=topic, ttl=600, urgency="high")
    assert result.status == "delivered" and result.status_code == 201
    [message] = fake.messages(fake.sub_id(raw))
    assert message.payload == _tip(1)
    assert (message.ttl, message.urgency, message.topic) == (600, "high", topic)
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.claims["aud"] == fake.origin and message.claims["sub"] == "mailto:ops@oo.example"
    assert time.time() < message.claims["exp"] <= time.time() + 24 * 3600


@pytest.mark.anyio
async def test_same_topic_replaces_the_undelivered_message(fake, sender):
    raw = fake.new_subscription()
    sub, sub_id = parse_subscription(raw, allowed_hosts=(fake.origin,)), fake.sub_id(raw)
    for n in (1, 2):
        await sender.send(sub, _tip(n), topic=make_topic("user-1"), ttl=60, urgency="normal")
    await sender.send(sub, _tip(3), topic=make_topic("user-2"), ttl=60, urgency="normal")
    assert len(fake.messages(sub_id)) == 3
    assert [m.payload["body"] for m in fake.pending(sub_id)] == ["tip 2", "tip 3"]
    fake.deliver_all()
    assert fake.pending(sub_id) == [] and len(fake.delivered(sub_id)) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "expected"), [(410, "gone"), (404, "gone"), (429, "retry"), (500, "retry"), (413, "rejected")]
)
async def test_push_service_status_maps_to_delivery_result(fake, sender, status, expected):
    raw = fake.new_subscription()
    fake.set_status(fake.sub_id(raw), status, retry_after="7" if status == 429 else None)
    sub = parse_subscription(raw, allowed_hosts=(fake.origin,))
    result = await sender.send(sub, _tip(1), topic="t", ttl=60, urgency="normal")
    assert (result.status, result.status_code) == (expected, status)
    assert result.retry_after == (7.0 if status == 429 else None)


@pytest.mark.anyio
async def test_push_service_refuses_a_different_vapid_key(fake):
    raw = fake.new_subscription()
    sub = parse_subscription(raw, allowed_hosts=(fake.origin,))
    async with WebPushSender(
        generate_vapid_keys().private_key, "mailto:x@oo.example", allowed_hosts=(fake.origin,)
    ) as s:
        result = await s.send(sub, _tip(1), topic="t", ttl=60, urgency="normal")
    assert (result.status, result.status_code) == ("rejected", 403)
    assert "applicationServerKey" in result.reason
    assert fake.messages(fake.sub_id(raw)) == []


@pytest.mark.anyio
async def test_push_service_refuses_missing_or_forged_vapid(fake):
    raw = fake.new_subscription()
    async with httpx.AsyncClient() as http:
        bare = await http.post(
            raw["endpoint"], content=b"x", headers={"TTL": "1", "Content-Encoding": "aes128gcm"}
        )
        forged = await http.post(
            raw["endpoint"],
            content=b"x",
            headers={"Authorization": f"vapid t=a.b.c, k={VAPID.public_key}", "TTL": "1"},
        )
    assert (bare.status_code, forged.status_code) == (401, 401)


@pytest.mark.anyio
async def test_concurrent_sends_all_arrive(fake):
    subs = [fake.new_subscription() for _ in range(20)]
    async with WebPushSender(
        VAPID.private_key, "mailto:ops@oo.example", allowed_hosts=(fake.origin,), max_concurrency=5
    ) as s:
        parsed = [parse_subscription(raw, allowed_hosts=(fake.origin,)) for raw in subs]
        results = await asyncio.gather(*(s.send(p, _tip(i), topic="t", ttl=60) for i, p in enumerate(parsed)))
    assert {r.status for r in results} == {"delivered"}
    assert [fake.messages(fake.sub_id(raw))[0].payload["body"] for raw in subs] == [
        f"tip {i}" for i in range(20)
    ]


@pytest.mark.anyio
async def test_injected_httpx_client_reaches_the_push_service(fake):
    raw = fake.new_subscription()
    sub = parse_subscription(raw, allowed_hosts=(fake.origin,))
    async with httpx.AsyncClient() as http:
        sender = WebPushSender(
            VAPID.private_key, "mailto:ops@oo.example", allowed_hosts=(fake.origin,), http=http
        )
        result = await sender.send(sub, _tip(1), topic="t", ttl=60)
    assert result.status == "delivered"
    assert fake.messages(fake.sub_id(raw))[0].payload == _tip(1)


@pytest.mark.anyio
async def test_unreachable_push_service_means_retry():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    keys = fake_keys()
    sub = parse_subscription({"endpoint": f"{origin}/push/x", "keys": keys}, allowed_hosts=(origin,))
    async with WebPushSender(VAPID.private_key, "mailto:ops@oo.example", allowed_hosts=(origin,)) as sender:
        result = await sender.send(sub, _tip(1), topic="t", ttl=60)
    assert (result.status, result.status_code) == ("retry", None)
