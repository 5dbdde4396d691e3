"""POST /api/v1/push/subscribe and /unsubscribe: authentication, CSRF, validation, ownership."""

from __future__ import annotations

from oo.models import PushSubscription
from tests.integration.test_api_v1 import client, rows, signed_in  # noqa: F401  (fixture)
from tests.support.push import browser_subscription

ORIGIN = {"origin": "http://testserver"}


def test_subscribe_and_unsubscribe_own_device(client):  # noqa: F811
    cookie, uid = signed_in(demo_tasks=False)
    sub = browser_subscription()
    resp = client.post("/api/v1/push/subscribe", json=sub, headers={**cookie, **ORIGIN})
    assert resp.status_code == 201 and resp.json() == {"subscribed": True, "devices": 1}
    [row] = rows(PushSubscription)
    assert row.user_id == uid and sub["endpoint"] not in row.data
    other, _ = signed_in(demo_tasks=False)
    gone = client.post(
        "/api/v1/push/unsubscribe", json={"endpoint": sub["endpoint"]}, headers={**other, **ORIGIN}
    )
    assert gone.status_code == 404 and rows(PushSubscription)
    ok = client.post(
        "/api/v1/push/unsubscribe", json={"endpoint": sub["endpoint"]}, headers={**cookie, **ORIGIN}
    )
    assert ok.status_code == 204 and not rows(PushSubscription)


def test_subscribe_needs_a_session_and_our_origin(client):  # noqa: F811
    sub = browser_subscription()
    assert client.post("/api/v1/push/subscribe", json=sub, headers=ORIGIN).status_code == 401
    cookie, _ = signed_in(demo_tasks=False)
    evil = client.post(
        "/api/v1/push/subscribe", json=sub, headers={**cookie, "origin": "https://evil.example"}
    )
    assert evil.status_code == 403 and not rows(PushSubscription)


def test_bad_subscriptions_get_clear_errors(client):  # noqa: F811
    cookie, _ = signed_in(demo_tasks=False)
    headers = {**cookie, **ORIGIN}
    ssrf = browser_subscription(host="https://169.254.169.254")
    resp = client.post("/api/v1/push/subscribe", json=ssrf, headers=headers)
    assert resp.status_code == 422 and "allowed push-service host" in resp.text
    missing = client.post(
        "/api/v1/push/subscribe", json={"endpoint": "https://fcm.googleapis.com/x"}, headers=headers
    )
    assert missing.status_code == 422 and "keys" in missing.text
    assert not rows(PushSubscription)
