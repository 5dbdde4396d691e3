"""Policy registry (A7) and its ops (A12): promote, shadow, archive; exactly one active policy.

Promoting a policy demotes the active one to shadow in the same transaction. The active policy
can never be shadowed or archived directly (that would leave nothing to serve); promote another
one instead. Every change writes one audit row in the same commit.

Promotion is gated by off-policy evaluation (`oo.services.admin.offpolicy.promotion_check`): a
shadow becomes active only when its doubly robust lower bound beats the observed mean reward of
the tips as served, or with an explicit override reason, which the audit row records together
with the gate's verdict.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from oo.models import Policy
from oo.services.admin import audit as admin_audit
from oo.services.admin import offpolicy as admin_offpolicy
from oo.services.admin.inputs import AdminInputError, parse_choice, parse_int, parse_text
from oo.services.learning import policies

STATUSES = ("active", "shadow", "archived")
ACTION_FOR = {"active": "policy.promote", "shadow": "policy.shadow", "archived": "policy.archive"}


def key(policy: Policy) -> str:
    """``name@version``."""
    return f"{policy.name}@{policy.version}"


def list_policies(*, session: Session) -> list[dict[str, Any]]:
    """Every registered policy (the registry is seeded if empty): active, then shadows, then archived."""
    rows = policies.list_policies(session=session)
    order = {s: i for i, s in enumerate(STATUSES)}
    rows = sorted(rows, key=lambda p: (order.get(p.status, 9), p.name, -p.version))
    return [
        {
            "id": p.id,
            "key": key(p),
            "name": p.name,
            "version": p.version,
            "status": p.status,
            "params": p.params,
            "alpha": alpha_of(p.params),
            "description": p.description,
            "updated": p.updated_at.strftime("%Y-%m-%d %H:%M"),
        }
        for p in rows
    ]


def alpha_of(params: str) -> str:
    """The ``alpha`` of a policy's JSON parameters as text ("" when it has none)."""
    try:
        value = json.loads(params or "{}").get("alpha")
    except (ValueError, AttributeError):
        return ""
    return "" if value is None else str(value)


def set_status(
    *, session: Session, admin_id: int, policy_id: Any, status: Any, override_reason: Any = None
) -> Policy:
    """Move one policy to ``status`` (audit-logged); promoting demotes the current active to shadow.

    Promoting needs the off-policy gate to pass, or `override_reason` (audit-logged).

    The change itself is the recommender's `oo.services.learning.policies.set_status` (which also drops
    the cached serving set); the audit row rides in its commit.

    Raises:
        AdminInputError: Unknown policy or status, no change, a change that would leave no
            active policy, or a promotion the gate refuses without a reason.
    """
    status = parse_choice(status, "status", STATUSES)
    pid = parse_int(policy_id, "policy id")
    reason = parse_text(override_reason, "override reason", max_len=500)
    policies.list_policies(session=session)  # seed a missing registry first: it commits on its own
    # Lock the registry rows (Postgres) so two admins promoting at once cannot leave two actives.
    rows = session.exec(select(Policy).with_for_update()).all()
    policy = next((p for p in rows if p.id == pid), None)
    if policy is None:
        raise AdminInputError(f"There is no policy {pid}.")
    if policy.status == status:
        raise AdminInputError(f"{key(policy)} is already {status}.")
    if policy.status == "active":
        raise AdminInputError(f"{key(policy)} is the active policy; promote another policy instead.")
    params: dict[str, Any] = {"from": policy.status, "to": status}
    if status == "active":
        params["demoted"] = ", ".join(key(p) for p in rows if p.status == "active")
        allowed, why = admin_offpolicy.promotion_check(session=session, key=key(policy))
        if not allowed and not reason:
            raise AdminInputError(
                f"Not promoted: {why}. To promote anyway, give an override reason (Policies page)."
            )
        params["gate"] = why
        if not allowed:
            params["override_reason"] = reason
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action=ACTION_FOR[status],
        target=f"policy:{key(policy)}",
        params=params,
    )
    try:
        return policies.set_status(session=session, name=policy.name, version=policy.version, status=status)
    except policies.PolicyError as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
