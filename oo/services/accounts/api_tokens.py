"""Per-user API tokens for the JSON API (``Authorization: Bearer oo_...``).

A token is shown once, at creation; the table keeps only its SHA-256, so a database dump
cannot be replayed. Tokens act as their user (with the user's current role, re-read on
every request by `oo.http.caller.request_user`) until revoked or expired: each expires
``days`` after creation (`DEFAULT_DAYS`, at most `MAX_DAYS`). `rotate` makes a successor with
the same name and gives the old token `ROTATION_GRACE` to keep working, so a client can switch
without downtime. A user holds at most `MAX_TOKENS` live tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from oo.crypto import sha256_hex
from oo.models import ApiToken, utcnow

PREFIX = "oo_"
MAX_TOKENS = 20
DEFAULT_DAYS = 90
MAX_DAYS = 365
ROTATION_GRACE = timedelta(days=1)


class TokenError(ValueError):
    """A token request that cannot be honoured (bad name, too many tokens)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner sees it after creation (never the secret)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = None


def _info(row: ApiToken) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(row.id, row.name, row.created_at, row.last_used_at, row.expires_at)


def is_live(row: ApiToken, now: datetime | None = None) -> bool:
    """Not revoked and not expired."""
    now = now or utcnow()
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def create(*, session: Session, user_id: int, name: str, days: int = DEFAULT_DAYS) -> tuple[str, TokenInfo]:
    """Create a token valid for ``days``; returns the secret (shown once) and its public info.

    Raises:
        TokenError: For an empty or over-long name, a lifetime outside 1..`MAX_DAYS`, or more
            than `MAX_TOKENS` live tokens.
    """
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise TokenError(f"days must be 1-{MAX_DAYS}")
    name = (name or "").strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise TokenError("name must be 1-100 printable characters")
    live = session.exec(
        select(func.count()).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    ).one()
    if live >= MAX_TOKENS:
        raise TokenError(f"at most {MAX_TOKENS} live tokens; revoke one first")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        user_id=user_id,
        token_hash=sha256_hex(secret),
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return secret, _info(row)


def list_tokens(*, session: Session, user_id: int) -> list[TokenInfo]:
    """The user's live (unrevoked, unexpired) tokens, newest first."""
    rows = session.exec(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
        .order_by(col(ApiToken.id).desc())
    ).all()
    now = utcnow()
    return [_info(r) for r in rows if is_live(r, now)]


def rotate(
    *, session: Session, user_id: int, token_id: int, days: int = DEFAULT_DAYS
) -> tuple[str, TokenInfo] | None:
    """A successor of one of the user's live tokens; the old one expires after `ROTATION_GRACE`.

    Returns:
        The new secret and info, or None if there is no such live token of theirs.
    """
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or not is_live(row):
        return None
    grace_end = utcnow() + ROTATION_GRACE
    if row.expires_at is None or row.expires_at > grace_end:
        row.expires_at = grace_end
        session.add(row)
        session.commit()
    return create(session=session, user_id=user_id, name=row.name, days=days)


def revoke(*, session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False if there is no such live token of theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.commit()
    return True
