"""Push subscriptions: validation, encryption at rest, dedupe, ownership, quiet hours."""

import pytest
from sqlmodel import select

from oo import singletons
from oo.integrations.push_subscription import InvalidSubscription
from oo.models import PushSubscription, User
from oo.services.accounts import sessions as accounts
from oo.services.push import subscriptions as push
from oo.services.push.rules import QuietHoursError
from tests.support.push import browser_subscription


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    singletons.reset()
    yield
    singletons.reset()


def test_subscribe_stores_the_endpoint_encrypted_and_dedupes(session):
    user = accounts.create_demo_user(session=session)
    sub = browser_subscription()
    push.subscribe(session=session, user_id=user.id, data=sub)
    push.subscribe(session=session, user_id=user.id, data=sub)
    [row] = session.exec(select(PushSubscription)).all()
    assert sub["endpoint"] not in row.data and sub["keys"]["auth"] not in row.data
    [(stored, parsed)] = push.subscriptions(session=session, user_id=user.id)
    assert parsed.endpoint == sub["endpoint"] and stored.id == row.id


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"endpoint": "http://fcm.googleapis.com/x", "keys": {}},
        {"endpoint": "https://169.254.169.254/latest", "keys": {"p256dh": "x", "auth": "y"}},
        "not a dict",
    ],
)
def test_bad_subscriptions_are_refused_with_a_message(session, bad):
    user = accounts.create_demo_user(session=session)
    with pytest.raises(InvalidSubscription):
        push.subscribe(session=session, user_id=user.id, data=bad)
    assert not session.exec(select(PushSubscription)).all()


def test_unsubscribe_only_removes_own(session):
    a = accounts.create_demo_user(session=session)
    b = accounts.create_demo_user(session=session)
    sub = browser_subscription()
    push.subscribe(session=session, user_id=a.id, data=sub)
    assert not push.unsubscribe(session=session, user_id=b.id, endpoint=sub["endpoint"])
    assert push.has_subscription(session=session, user_id=a.id)
    assert push.unsubscribe(session=session, user_id=a.id, endpoint=sub["endpoint"])
    assert not push.has_subscription(session=session, user_id=a.id)


def test_device_cap(session):
    user = accounts.create_demo_user(session=session)
    for _ in range(push.MAX_SUBSCRIPTIONS_PER_USER):
        push.subscribe(session=session, user_id=user.id, data=browser_subscription())
    with pytest.raises(InvalidSubscription, match="at most"):
        push.subscribe(session=session, user_id=user.id, data=browser_subscription())


def test_quiet_hours_setter_validates(session):
    user = accounts.create_demo_user(session=session)
    assert push.set_quiet_hours(session=session, user_id=user.id, value=" 23 - 7 ") == "23-7"
    assert push.set_quiet_hours(session=session, user_id=user.id, value="") == "none"
    with pytest.raises(QuietHoursError):
        push.set_quiet_hours(session=session, user_id=user.id, value="late")
    assert session.get(User, user.id).quiet_hours == "none"


def test_dev_vapid_keys_are_generated_once(tmp_path):
    first = push.vapid_keys()
    assert first == push.vapid_keys() and (tmp_path / "vapid.json").exists()
    assert len(first.public_key) == 87  # base64url of a 65-byte point


def test_decrypted_subscriptions_are_kept_in_memory_only_while_the_row_lives(session):
    from oo.services.privacy import deletion

    a = accounts.create_demo_user(session=session)
    b = accounts.create_demo_user(session=session)
    sub_a, sub_b = browser_subscription(), browser_subscription()
    push.subscribe(session=session, user_id=a.id, data=sub_a)
    push.subscribe(session=session, user_id=b.id, data=sub_b)
    devices = push.subscriptions_of(session=session, user_ids=[a.id, b.id])
    assert {u: [p.endpoint for _, p in d] for u, d in devices.items()} == {
        a.id: [sub_a["endpoint"]],
        b.id: [sub_b["endpoint"]],
    }
    assert {v[0] for v in push._plain.values()} == {a.id, b.id}
    push.unsubscribe(session=session, user_id=a.id, endpoint=sub_a["endpoint"])
    assert {v[0] for v in push._plain.values()} == {b.id}
    assert push.subscriptions(session=session, user_id=a.id) == []
    deletion.purge(session=session, user_id=b.id)  # an erased user's endpoint leaves memory too
    assert push._plain == {}
    assert push.subscriptions_of(session=session, user_ids=[a.id, b.id]) == {}


def test_a_cached_subscription_is_not_used_once_the_row_holds_another(session):
    a = accounts.create_demo_user(session=session)
    b = accounts.create_demo_user(session=session)
    sub = browser_subscription()
    push.subscribe(session=session, user_id=a.id, data=sub)
    assert push.subscriptions(session=session, user_id=a.id)
    moved = dict(sub, keys=dict(browser_subscription()["keys"]))  # the browser moved to b, new keys
    push.subscribe(session=session, user_id=b.id, data=moved)
    assert push.subscriptions(session=session, user_id=a.id) == []
    [(_, parsed)] = push.subscriptions(session=session, user_id=b.id)
    assert parsed.p256dh == moved["keys"]["p256dh"]
