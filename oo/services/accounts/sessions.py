"""Accounts and server-side sessions: sign-in flows, users, consents, session cookies' ids.

The browser only ever holds random ids (the session id, a login-flow binding); the database keeps
their SHA-256, so a database dump cannot be replayed as a cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.crypto import sha256_hex
from oo.legal import DOCUMENTS
from oo.models import Consent, LoginFlow, User, UserSession, UTCDateTime, utcnow

FLOW_TTL = timedelta(minutes=10)
# Refresh last_seen at most this often, so a busy websocket does not write on every event.
TOUCH_EVERY = timedelta(minutes=1)
ALLOWED_NEXT = ("/tip", "/connect", "/admin")


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as handlers see it."""

    id: int
    role: str
    name: str
    email: str
    is_demo: bool
    timezone: str

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        """The handler-facing view of a user row."""
        assert user.id is not None
        return cls(
            id=user.id,
            role=user.role,
            name=user.name or "",
            email=user.email or "",
            is_demo=user.is_demo,
            timezone=user.timezone,
        )

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"


def safe_next(path: str | None) -> str:
    """Only relative, allow-listed paths may follow a sign-in (no open redirect).

    Examples:
        >>> safe_next("/connect"), safe_next("//evil.example"), safe_next("https://evil.example/tip")
        ('/connect', '/tip', '/tip')
    """
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/tip"
    base = path.split("?", 1)[0]
    return path if any(base == p or base.startswith(p + "/") for p in ALLOWED_NEXT) else "/tip"


def create_session(*, session: Session, user_id: int, days: int) -> str:
    """Start a session; returns the id for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user_id,
            token_hash=sha256_hex(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.commit()
    return token


# The columns a session lookup needs, as one Core statement built once: it runs on every cache
# miss of every websocket event (`session_cache`), where loading two ORM entities cost the most.
_LOOKUP = (
    sa.select(
        col(UserSession.id),
        col(UserSession.revoked_at),
        col(UserSession.expires_at),
        col(UserSession.last_seen_at),
        col(User.deleted_at),
        col(User.id),
        col(User.role),
        col(User.name),
        col(User.email),
        col(User.is_demo),
        col(User.timezone),
    )
    .join(User, col(User.id) == col(UserSession.user_id))
    .where(col(UserSession.token_hash) == sa.bindparam("token_hash"))
)
_TOUCH = (
    sa.update(UserSession)
    .where(col(UserSession.id) == sa.bindparam("session_id"))
    .values(last_seen_at=sa.bindparam("now", type_=UTCDateTime()))
)


def resolve_session(*, session: Session, token: str | None, idle_days: int) -> CurrentUser | None:
    """The user behind a session id, or None if unknown, revoked, expired, idle too long or deleted."""
    if not token or len(token) > 128:
        return None
    row = session.connection().execute(_LOOKUP, {"token_hash": sha256_hex(token)}).first()
    if row is None:
        return None
    session_id, revoked_at, expires_at, last_seen_at, deleted_at, *user = row
    now = utcnow()
    if revoked_at or expires_at <= now or deleted_at is not None:
        return None
    if now - last_seen_at > timedelta(days=idle_days):
        return None
    if now - last_seen_at > TOUCH_EVERY:
        session.connection().execute(_TOUCH, {"session_id": session_id, "now": now})
        session.commit()
    user_id, role, name, email, is_demo, timezone = user
    return CurrentUser(
        id=user_id, role=role, name=name or "", email=email or "", is_demo=is_demo, timezone=timezone
    )


def revoke_session(*, session: Session, token: str | None) -> None:
    """Sign out this one session."""
    if not token:
        return
    sess = session.exec(select(UserSession).where(UserSession.token_hash == sha256_hex(token))).first()
    if sess and not sess.revoked_at:
        sess.revoked_at = utcnow()
        session.add(sess)
        session.commit()


def start_flow(
    *,
    session: Session,
    provider: str,
    state: str,
    nonce: str = "",
    code_verifier: str = "",
    user_id: int | None = None,
    next_path: str = "/tip",
) -> str:
    """Remember a pending redirect; returns the browser binding for a short-lived HttpOnly cookie."""
    binding = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginFlow(
            state_hash=sha256_hex(state),
            browser_hash=sha256_hex(binding),
            provider=provider,
            user_id=user_id,
            nonce=nonce,
            code_verifier=code_verifier,
            next_path=safe_next(next_path),
            created_at=now,
            expires_at=now + FLOW_TTL,
        )
    )
    # Housekeeping: flows nobody finished.
    for stale in session.exec(select(LoginFlow).where(LoginFlow.expires_at < now)).all():
        session.delete(stale)
    session.commit()
    return binding


def consume_flow(
    *, session: Session, provider: str, state: str | None, binding: str | None
) -> LoginFlow | None:
    """Take the flow for this state exactly once; None if unknown, used, expired or another browser's."""
    if not state or not binding or len(state) > 256:
        return None
    flow = session.exec(select(LoginFlow).where(LoginFlow.state_hash == sha256_hex(state))).first()
    if flow is None:
        return None
    session.delete(flow)  # single use, whatever happens next
    session.commit()
    ok = (
        flow.provider == provider
        and secrets.compare_digest(flow.browser_hash, sha256_hex(binding))
        and flow.expires_at > utcnow()
    )
    return flow if ok else None


def sign_in_oidc(
    *,
    session: Session,
    issuer: str,
    subject: str,
    email: str | None,
    name: str | None,
    email_verified: bool,
    admin_seed_email: str,
) -> User:
    """Find or create the user for ``iss``+``sub``, refresh profile, record consent, seed the admin."""
    user = session.exec(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)).first()
    if user is None:
        user = User(oidc_issuer=issuer, oidc_subject=subject)
    user.email = email
    # A provider that sends no name this time (Apple names the person only once) keeps the one we have.
    user.name = name or user.name or (email.split("@")[0] if email else None)
    if email_verified and admin_seed_email and email and email.lower() == admin_seed_email.lower():
        user.role = "admin"
    session.add(user)
    session.commit()
    session.refresh(user)
    record_consent(session=session, user_id=user.id)
    return user


def create_demo_user(*, session: Session, admin: bool = False) -> User:
    """A fresh demo account (demo mode only); ``admin`` (``OO_DEMO_ADMIN``, development only) makes it an admin."""
    user = User(name="Demo", email=None, is_demo=True, timezone="UTC", role="admin" if admin else "user")
    session.add(user)
    session.commit()
    session.refresh(user)
    record_consent(session=session, user_id=user.id)
    return user


def record_consent(*, session: Session, user_id: int | None) -> None:
    """Record implicit consent to the current Terms and Privacy versions (once per version)."""
    assert user_id is not None
    have = {(c.document, c.version) for c in session.exec(select(Consent).where(Consent.user_id == user_id))}
    for document, version in DOCUMENTS.items():
        if (document, version) not in have:
            session.add(Consent(user_id=user_id, document=document, version=version))
    session.commit()
