"""The policy registry (R4): which policy serves, which ones shadow it, which are archived.

The registry is the ``policy`` table, seeded on first use from `oo.recommender.POLICY_SPECS`
(``linucb@5`` active on a fresh registry; every other version shadow). Exactly one policy
is active; every request also scores the shadow policies and logs their picks without serving
them. The serving set is cached in process for a few seconds, so a promotion made on another
worker takes effect there within `CACHE_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import Policy, utcnow
from oo.recommender import POLICY_SPECS

log = logging.getLogger("oo.policies")

ACTIVE, SHADOW, ARCHIVED = "active", "shadow", "archived"
STATUSES = (ACTIVE, SHADOW, ARCHIVED)
DEFAULT_ACTIVE = "linucb@5"
CACHE_SECONDS = 5.0


class PolicyError(ValueError):
    """A registry change that is not allowed (unknown policy, bad status, no active left)."""


@dataclass(frozen=True)
class PolicyRef:
    """One registered policy version as the recommender needs it."""

    name: str
    version: int
    status: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """Registry key, ``name@version``."""
        return f"{self.name}@{self.version}"

    @property
    def encoder(self) -> str:
        """The feature encoder the policy reads (``textbook@1`` when unspecified)."""
        return str(self.params.get("encoder") or "textbook@1")

    @property
    def learns(self) -> bool:
        """Whether the policy keeps per-user learned state (Random does not)."""
        return self.name != "random"


@dataclass(frozen=True)
class ServingSet:
    """The active policy and the shadow policies of this moment."""

    active: PolicyRef
    shadows: tuple[PolicyRef, ...]

    @property
    def all(self) -> tuple[PolicyRef, ...]:
        """Active first, then the shadows."""
        return (self.active, *self.shadows)


RANDOM = PolicyRef("random", 1, SHADOW, {"encoder": "textbook@1"})

_lock = threading.Lock()
_cached: dict[str, tuple[float, ServingSet]] = {}  # per database URL (tests use several)


def _ref(row: Policy) -> PolicyRef:
    try:
        params = json.loads(row.params or "{}")
    except ValueError:
        log.error("policy %s@%s has unreadable params; using {}", row.name, row.version)
        params = {}
    return PolicyRef(row.name, row.version, row.status, params if isinstance(params, dict) else {})


def ensure_registry(*, session: Session) -> int:
    """Insert the shipped policy versions that are missing; returns how many were added.

    Safe to run from several workers at once: a concurrent insert loses on the unique
    (name, version) constraint and is ignored. `DEFAULT_ACTIVE` is seeded active only into a
    registry without an active policy.
    """
    rows = session.exec(select(Policy)).all()
    have = {(r.name, r.version) for r in rows}
    # On an existing registry a new default enters as a shadow: the operator's active policy keeps
    # serving until the new one is promoted (through the off-policy gate on the admin console).
    has_active = any(r.status == ACTIVE for r in rows)
    added = 0
    for spec in POLICY_SPECS:
        if (spec.name, spec.version) in have:
            continue
        status = ACTIVE if spec.key == DEFAULT_ACTIVE and not has_active else SHADOW
        session.add(
            Policy(
                name=spec.name,
                version=spec.version,
                params=json.dumps(dict(spec.params)),
                status=status,
                description=spec.description[:500],
            )
        )
        try:
            session.commit()
            added += 1
        except IntegrityError:
            session.rollback()
    return added


def list_policies(*, session: Session) -> list[Policy]:
    """Every registered policy, seeding the registry first if it is empty."""
    rows = list(session.exec(select(Policy).order_by(col(Policy.name), col(Policy.version))).all())
    if len(rows) < len(POLICY_SPECS):
        ensure_registry(session=session)
        rows = list(session.exec(select(Policy).order_by(col(Policy.name), col(Policy.version))).all())
    return rows


def serving_set(*, session: Session, fresh: bool = False) -> ServingSet:
    """The active policy and its shadows (cached for `CACHE_SECONDS`).

    With no active policy in the registry (everything archived by hand), Random serves and
    a warning is logged, so a tip is still shown.
    """
    now = time.monotonic()
    db = str(session.get_bind().engine.url)
    with _lock:
        hit = _cached.get(db)
        if not fresh and hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    rows = [_ref(r) for r in list_policies(session=session)]
    active = next((r for r in rows if r.status == ACTIVE), None)
    if active is None:
        log.warning("no active policy in the registry; serving %s", RANDOM.key)
        active = RANDOM
    shadows = tuple(r for r in rows if r.status == SHADOW and r.key != active.key)
    result = ServingSet(active, shadows)
    with _lock:
        _cached[db] = (now, result)
    return result


def invalidate() -> None:
    """Forget the cached serving set (after a registry change in this process)."""
    with _lock:
        _cached.clear()


def set_status(*, session: Session, name: str, version: int, status: str) -> Policy:
    """Promote, shadow or archive one policy version (A7, A12).

    Promoting to active demotes the current active policy to shadow, so exactly one serves.
    The active policy cannot be archived or shadowed directly: promote another one first.

    Raises:
        PolicyError: For an unknown policy or status, or a change that would leave none active.
    """
    if status not in STATUSES:
        raise PolicyError(f"status must be one of {', '.join(STATUSES)}")
    list_policies(session=session)
    row = session.exec(select(Policy).where(Policy.name == name, Policy.version == version)).first()
    if row is None:
        raise PolicyError(f"unknown policy {name}@{version}")
    if row.status == status:
        return row
    if row.status == ACTIVE:
        raise PolicyError(f"{name}@{version} is active: promote another policy first")
    now = utcnow()
    if status == ACTIVE:
        for current in session.exec(select(Policy).where(Policy.status == ACTIVE)).all():
            current.status, current.updated_at = SHADOW, now
            session.add(current)
    row.status, row.updated_at = status, now
    session.add(row)
    session.commit()
    invalidate()
    return row


singletons.on_reset("policies.serving_set", invalidate)
