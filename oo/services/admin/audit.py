"""The admin audit log (A2): one append-only ``admin_action`` row per admin write.

`record` only adds the row to the caller's session; the action's own service commits it together
with the change, so an action and its audit row land (or fail) in one transaction. Nothing here
updates or deletes audit rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from oo.models import AdminAction, User, utcnow
from oo.services.admin.inputs import Page, page_of, parse_choice, parse_optional_int, parse_page, parse_text

ACTIONS = (
    "role.grant",
    "role.revoke",
    "integration.revoke",
    "bandit.reset",
    "policy.promote",
    "policy.shadow",
    "policy.archive",
    "event.replay",
    "sql.run",
    "sql.save",
    "sql.delete",
)


def record(
    *,
    session: Session,
    admin_id: int,
    action: str,
    target: str = "",
    params: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AdminAction:
    """Add one audit row to ``session`` (the caller commits it with the action itself).

    Args:
        session: The session the action runs in.
        admin_id: Who acted.
        action: One of `ACTIONS`.
        target: What was acted on (``user:12``, ``policy:linucb@3``).
        params: JSON-able details; never secrets.
        at: When (now by default).

    Returns:
        The pending row.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = AdminAction(
        admin_id=admin_id,
        action=action,
        target=target[:200],
        params=json.dumps(params or {}, default=str, sort_keys=True),
        created_at=at or utcnow(),
    )
    session.add(row)
    return row


def list_actions(
    *,
    session: Session,
    action: Any = "",
    admin_id: Any = "",
    target: Any = "",
    page: Any = 1,
    page_size: Any = 50,
) -> Page:
    """The audit log, newest first, filtered by action, admin and a target substring.

    Raises:
        AdminInputError: A filter or the page is malformed.
    """
    number, size = parse_page(page, page_size)
    action = parse_text(action, "action", max_len=64)
    if action:
        parse_choice(action, "action", ACTIONS)
    admin = parse_optional_int(admin_id, "admin id")
    target = parse_text(target, "target")
    query = select(AdminAction, User.email).join(User, col(User.id) == AdminAction.admin_id, isouter=True)
    if action:
        query = query.where(AdminAction.action == action)
    if admin is not None:
        query = query.where(AdminAction.admin_id == admin)
    if target:
        query = query.where(col(AdminAction.target).contains(target, autoescape=True))
    query = query.order_by(col(AdminAction.created_at).desc(), col(AdminAction.id).desc())
    rows = session.exec(query.offset((number - 1) * size).limit(size + 1)).all()
    return page_of(
        [
            {
                "id": a.id,
                "when": a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "admin_id": a.admin_id,
                "admin": email or f"user {a.admin_id}",
                "action": a.action,
                "target": a.target,
                "params": a.params,
            }
            for a, email in rows
        ],
        page=number,
        page_size=size,
    )
