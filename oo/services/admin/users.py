"""User explorer (A4) and admin roles (A1): search, one user's detail, grant and revoke admin.

Only what an admin may see leaves this module: never credentials, sync cursors, session or API
token hashes, or push endpoints (their existence is shown as counts).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from oo.models import (
    TODOIST,
    Consent,
    Integration,
    PushSubscription,
    Task,
    TipFeedback,
    TipView,
    User,
    UserSession,
    utcnow,
)
from oo.services.accounts import session_cache
from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import (
    AdminInputError,
    Page,
    page_of,
    parse_choice,
    parse_int,
    parse_page,
    parse_text,
)
from oo.services.learning import learner
from oo.services.sources import catalog as sources
from oo.services.sources.todoist import connection as todoist

log = logging.getLogger("oo.admin.users")
ROLES = ("admin", "user")


def _fmt(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts else ""


def search_users(*, session: Session, query: Any = "", page: Any = 1, page_size: Any = 25) -> Page:
    """Users newest first; ``query`` matches an id exactly or an email / name substring.

    Raises:
        AdminInputError: The query or page is malformed.
    """
    number, size = parse_page(page, page_size)
    text = parse_text(query, "search")
    last_tip = (
        select(sa.func.max(TipView.served_at))
        .where(TipView.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    stmt = select(User, last_tip.label("last_tip"))
    if text:
        like = or_(
            col(User.email).icontains(text, autoescape=True), col(User.name).icontains(text, autoescape=True)
        )
        stmt = stmt.where(or_(User.id == int(text), like) if text.isdigit() else like)
    stmt = stmt.order_by(col(User.id).desc()).offset((number - 1) * size).limit(size + 1)
    rows = [
        {
            "id": u.id,
            "email": u.email or "",
            "name": u.name or "",
            "role": u.role,
            "kind": "deleted" if u.deleted_at else ("demo" if u.is_demo else "person"),
            "created": _fmt(u.created_at),
            "last_tip": _fmt(last) if last else "",
        }
        for u, last in session.exec(stmt).all()
    ]
    return page_of(rows, page=number, page_size=size)


def _require_user(session: Session, user_id: Any) -> User:
    uid = parse_int(user_id, "user id")
    user = session.get(User, uid)
    if user is None:
        raise AdminInputError(f"There is no user {uid}.")
    return user


def user_detail(*, session: Session, user_id: Any) -> dict[str, Any]:
    """Identity, consents, integrations, last tip and reward history of one user.

    Raises:
        AdminInputError: Unknown or malformed user id.
    """
    user = _require_user(session, user_id)
    uid = user.id
    assert uid is not None  # a stored user has its id
    integrations = session.exec(select(Integration).where(Integration.user_id == uid)).all()
    consents = session.exec(
        select(Consent).where(Consent.user_id == uid).order_by(col(Consent.accepted_at))
    ).all()
    return {
        "identity": _identity(session, user),
        "consents": [
            {"document": c.document, "version": c.version, "accepted": _fmt(c.accepted_at)} for c in consents
        ],
        "integrations": [
            {
                "id": str(i.id),
                "provider": i.provider,
                "status": i.status,
                "scopes": i.scopes,
                "last_sync": _fmt(i.last_sync_at),
                "last_error": i.last_error or "",
            }
            for i in integrations
        ],
        "last_tip": _last_tip(session, uid),
        "rewards": reward_history(session=session, user_id=uid),
    }


def _identity(session: Session, user: User) -> dict[str, str]:
    """Who the user is, with their live sessions and push subscriptions counted."""
    active_sessions = session.exec(
        select(sa.func.count())
        .select_from(UserSession)
        .where(
            UserSession.user_id == user.id,
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > utcnow(),
        )
    ).one()
    pushes = session.exec(
        select(sa.func.count()).select_from(PushSubscription).where(PushSubscription.user_id == user.id)
    ).one()
    return {
        "id": str(user.id),
        "email": user.email or "",
        "name": user.name or "",
        "role": user.role,
        "kind": "deleted" if user.deleted_at else ("demo" if user.is_demo else "person"),
        "timezone": user.timezone,
        "signed_up": _fmt(user.created_at),
        "issuer": user.oidc_issuer or "",
        "active_sessions": str(active_sessions),
        "push_subscriptions": str(pushes),
    }


def _last_tip(session: Session, user_id: int) -> dict[str, str]:
    """The last tip served to the user ({} when none was)."""
    last = session.exec(
        select(TipView).where(TipView.user_id == user_id).order_by(col(TipView.served_at).desc()).limit(1)
    ).first()
    if last is None:
        return {}
    task = session.get(Task, last.task_id) if last.task_id else None
    return {
        "served": _fmt(last.served_at),
        "policy": f"{last.policy}@{last.policy_version}",
        "score": f"{last.score:.3f}",
        "reaction": last.reaction or "",
        "channel": last.channel,
        "text": task.content if task else f"task {last.task_id}",
    }


def reward_history(*, session: Session, user_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The user's latest rewards, oldest first (for a cumulative chart and a table)."""
    rows = session.exec(
        select(TipFeedback.created_at, TipFeedback.reaction, TipFeedback.reward, TipView.policy)
        .join(TipView, col(TipView.id) == TipFeedback.tip_id)
        .where(TipFeedback.user_id == user_id)
        .order_by(col(TipFeedback.created_at).desc())
        .limit(limit)
    ).all()
    return [
        {"when": _fmt(ts), "reaction": reaction, "reward": reward, "policy": policy}
        for ts, reaction, reward, policy in reversed(rows)
    ]


def set_role(*, session: Session, admin_id: int, user_id: Any, role: Any) -> User:
    """Grant or revoke the admin role; audit-logged in the same transaction.

    Raises:
        AdminInputError: Unknown user, bad role, no change, a demo/deleted account, or an
            admin revoking their own role (which could lock everyone out).
    """
    role = parse_choice(role, "role", ROLES)
    user = _require_user(session, user_id)
    if user.deleted_at is not None or user.is_demo:
        raise AdminInputError("Demo and deleted accounts cannot hold roles.")
    if user.id == admin_id and role != "admin":
        raise AdminInputError("You cannot revoke your own admin role; ask another admin.")
    if user.role == role:
        raise AdminInputError(f"User {user.id} already has the {role} role.")
    previous, user.role = user.role, role
    session.add(user)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="role.grant" if role == "admin" else "role.revoke",
        target=f"user:{user.id}",
        params={"from": previous, "to": role},
    )
    session.commit()
    assert user.id is not None  # a stored user has its id
    session_cache.forget_user(user.id)  # the new role applies to every open tab at once
    return user


def reset_bandit(*, session: Session, admin_id: int, user_id: Any) -> int:
    """Forget one user's learned models (every policy); the audit row rides in the reset's commit.

    Returns:
        How many stored models were deleted.

    Raises:
        AdminInputError: Unknown or malformed user id.
    """
    user = _require_user(session, user_id)
    assert user.id is not None
    admin_audit.record(session=session, admin_id=admin_id, action="bandit.reset", target=f"user:{user.id}")
    return learner.reset(session=session, user_id=user.id)


async def revoke_integration(*, session: Session, admin_id: int, user_id: Any, provider: Any) -> bool | None:
    """Revoke a user's provider token and delete the integration (and its cached tasks).

    The provider is asked to revoke first (network, outside any transaction); the local deletion
    and the audit row are then committed together. A revocation the provider does not confirm
    still deletes the local copy, as a user's own disconnect does.

    Returns:
        Whether the provider confirmed the revocation (None for the built-in demo source).

    Raises:
        AdminInputError: Unknown user, provider, or no such integration.
    """
    provider = parse_choice(provider, "provider", sources.LABELS)
    user = _require_user(session, user_id)
    uid = user.id
    assert uid is not None
    row = session.exec(
        select(Integration).where(Integration.user_id == uid, Integration.provider == provider)
    ).first()
    if row is None:
        raise AdminInputError(f"User {uid} has no {sources.LABELS[provider]} integration.")
    remote = (
        await todoist.revoke_remote(user_id=uid, ciphertext=row.credentials) if provider == TODOIST else None
    )
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="integration.revoke",
        target=f"user:{uid}",
        params={"provider": provider, "revoked_at_provider": remote},
    )
    if provider == TODOIST:
        todoist.forget(session=session, user_id=uid)  # commits the deletion and the audit row
    else:
        sources.disconnect(session=session, user_id=uid, provider=provider)
    return remote
