"""Web Push subscriptions (U7): VAPID keys, subscribe / unsubscribe, encrypted at rest.

A subscription endpoint is a capability (anyone holding it can push to the browser), so the row
keeps it encrypted with the token keyring and identifies it only by a SHA-256 for dedupe.

The push round decrypts every user's subscriptions at every round; the decrypted form is kept in
memory by row id (`_plain`), used only while the row still holds the same ciphertext, and dropped
when the row is deleted (unsubscribe, a ``gone`` answer, an unreadable row, account deletion via
`forget_user`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from oo import singletons
from oo.crypto import CryptoError, sha256_hex
from oo.integrations.push_subscription import (
    DEFAULT_ALLOWED_HOSTS,
    InvalidSubscription,
    Subscription,
    parse_subscription,
)
from oo.integrations.webpush import VapidKeys, generate_vapid_keys
from oo.models import PushSubscription, User, utcnow
from oo.services.platform.keyring import keyring
from oo.services.push.rules import parse_quiet_hours
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.push")
MAX_SUBSCRIPTIONS_PER_USER = 10
MAX_CACHED = 200_000  # decrypted subscriptions kept in memory (past that the cache starts over)
# row id → (user id, ciphertext, allowed hosts it was parsed under, the parsed subscription)
_plain: dict[int, tuple[int, str, tuple[str, ...], Subscription]] = {}


class PushNotConfigured(RuntimeError):
    """Production without VAPID keys: push stays off (logged once at start)."""


def vapid_keys(settings: Settings | None = None) -> VapidKeys:
    """The VAPID key pair: from settings, or generated once under the data dir in development."""
    settings = settings or get_settings()
    private = settings.vapid_private_key.get_secret_value()
    if private and settings.vapid_public_key:
        return VapidKeys(private_key=private, public_key=settings.vapid_public_key)
    if not settings.is_dev:
        raise PushNotConfigured("set OO_VAPID_PRIVATE_KEY and OO_VAPID_PUBLIC_KEY to enable Web Push")
    path = settings.data_dir / "vapid.json"
    if path.exists():
        data = json.loads(path.read_text())
        return VapidKeys(private_key=data["private_key"], public_key=data["public_key"])
    keys = generate_vapid_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"private_key": keys.private_key, "public_key": keys.public_key}))
    path.chmod(0o600)
    return keys


def allowed_hosts(settings: Settings | None = None) -> tuple[str, ...]:
    """Push-service hosts an endpoint may point at (SSRF guard); OO_PUSH_ALLOWED_HOSTS adds more."""
    settings = settings or get_settings()
    extra = tuple(h.strip() for h in settings.push_allowed_hosts.split(",") if h.strip())
    return tuple(DEFAULT_ALLOWED_HOSTS) + extra


def subscribe(*, session: Session, user_id: int, data: Mapping[str, Any]) -> PushSubscription:
    """Validate and store (or refresh) a browser subscription for the user.

    Raises:
        InvalidSubscription: With a clear message; nothing is stored.
    """
    sub = parse_subscription(data, allowed_hosts=allowed_hosts())
    digest = sha256_hex(sub.endpoint)
    blob = keyring().encrypt(json.dumps(sub.to_dict()))
    row = session.exec(select(PushSubscription).where(PushSubscription.endpoint_hash == digest)).first()
    if row is None:
        count = len(
            session.exec(select(PushSubscription.id).where(PushSubscription.user_id == user_id)).all()
        )
        if count >= MAX_SUBSCRIPTIONS_PER_USER:
            raise InvalidSubscription(f"at most {MAX_SUBSCRIPTIONS_PER_USER} devices per account")
        row = PushSubscription(user_id=user_id, endpoint_hash=digest, data=blob)
    # A browser that changed hands (another account signs in) moves the subscription with it.
    row.user_id, row.data, row.failures = user_id, blob, 0
    session.add(row)
    session.commit()
    session.refresh(row)
    _plain.pop(row.id or 0, None)  # a new ciphertext (or owner): decrypted afresh at the next round
    log.info("push subscription %s stored for user %s", digest[:12], user_id)
    return row


def unsubscribe(*, session: Session, user_id: int, endpoint: str) -> bool:
    """Remove one of the user's subscriptions; False if it was not theirs (or unknown)."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 2048:
        return False
    row = session.exec(
        select(PushSubscription).where(
            PushSubscription.endpoint_hash == sha256_hex(endpoint), PushSubscription.user_id == user_id
        )
    ).first()
    if row is None:
        return False
    _plain.pop(row.id or 0, None)
    session.delete(row)
    session.commit()
    return True


def subscriptions(*, session: Session, user_id: int) -> list[tuple[PushSubscription, Subscription]]:
    """The user's subscriptions, decrypted; undecryptable rows (lost key) are dropped and logged."""
    return subscriptions_of(session=session, user_ids=[user_id]).get(user_id, [])


def subscriptions_of(
    *, session: Session, user_ids: list[int]
) -> dict[int, list[tuple[PushSubscription, Subscription]]]:
    """Every listed user's subscriptions, decrypted (one query; see `subscriptions`)."""
    out: dict[int, list[tuple[PushSubscription, Subscription]]] = {}
    dropped, hosts = False, allowed_hosts()
    rows = session.exec(select(PushSubscription).where(col(PushSubscription.user_id).in_(user_ids))).all()
    for row in rows:
        try:
            out.setdefault(row.user_id, []).append((row, _decrypted(row, hosts)))
        except (CryptoError, InvalidSubscription, ValueError):
            log.warning("dropping unreadable push subscription %s", row.endpoint_hash[:12])
            _plain.pop(row.id or 0, None)
            session.delete(row)
            dropped = True
    if dropped:  # no commit otherwise: the push round commits its batch
        session.commit()
    return out


def _decrypted(row: PushSubscription, hosts: tuple[str, ...]) -> Subscription:
    cached = _plain.get(row.id or 0)
    if cached is not None and cached[0] == row.user_id and cached[1] == row.data and cached[2] == hosts:
        return cached[3]
    sub = parse_subscription(json.loads(keyring().decrypt(row.data)), allowed_hosts=hosts)
    if row.id is not None:
        if len(_plain) >= MAX_CACHED:
            _plain.clear()
        _plain[row.id] = (row.user_id, row.data, hosts, sub)
    return sub


def forget_user(user_id: int) -> None:
    """Drop the user's decrypted subscriptions from memory (account deletion)."""
    for row_id in [k for k, v in _plain.items() if v[0] == user_id]:
        _plain.pop(row_id, None)


singletons.on_reset("push.subscriptions", _plain.clear)


def has_subscription(*, session: Session, user_id: int) -> bool:
    """True when the user has at least one device subscribed."""
    return (
        session.exec(select(PushSubscription.id).where(PushSubscription.user_id == user_id)).first()
        is not None
    )


def set_quiet_hours(*, session: Session, user_id: int, value: str) -> str:
    """Store the user's quiet hours (``"22-8"``, or empty for none); returns the normalized value.

    Raises:
        QuietHoursError: The value is not ``H-H``.
    """
    window = parse_quiet_hours(value)
    normalized = f"{window[0]}-{window[1]}" if window else "none"
    user = session.get(User, user_id)
    if user is None:
        raise ValueError("unknown user")
    user.quiet_hours = normalized
    session.add(user)
    session.commit()
    return normalized


def mark_result(*, session: Session, row: PushSubscription, status: str) -> None:
    """Apply a delivery result: gone → delete; retry → count the failure; delivered → reset."""
    if status == "gone":
        _plain.pop(row.id or 0, None)
        session.delete(row)
    elif status == "delivered":
        row.failures, row.last_success_at = 0, utcnow()
        session.add(row)
    else:
        row.failures += 1
        session.add(row)
