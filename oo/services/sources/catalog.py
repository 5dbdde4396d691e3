"""Task sources per user: which integrations exist, their status, connecting and disconnecting them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, delete, select

from oo.db import session_scope
from oo.integrations.demo import sample_tasks
from oo.models import DEMO, TODOIST, Integration, Task, utcnow
from oo.recommender.task_length import estimate_minutes
from oo.services.sources.todoist import connection as todoist

LABELS = {DEMO: "Demo tasks", TODOIST: "Todoist"}


@dataclass(frozen=True)
class SourceStatus:
    """One row of /connect."""

    provider: str
    label: str
    status: str  # connected | needs_reconnect | not_connected | not_configured
    detail: str = ""


def list_sources(*, session: Session, user_id: int, todoist_configured: bool) -> list[SourceStatus]:
    """Every source the user could connect, with its status."""
    rows = {i.provider: i for i in session.exec(select(Integration).where(Integration.user_id == user_id))}
    out = []
    for provider in (TODOIST, DEMO):
        row = rows.get(provider)
        if provider == TODOIST and not todoist_configured and row is None:
            out.append(
                SourceStatus(
                    provider, LABELS[provider], "not_configured", "An admin has not set up this source yet."
                )
            )
        elif row is None:
            out.append(SourceStatus(provider, LABELS[provider], "not_connected"))
        else:
            out.append(SourceStatus(provider, LABELS[provider], row.status, row.last_error or ""))
    return out


def connect_demo(*, session: Session, user_id: int) -> int:
    """Connect the demo source and load its sample tasks; returns how many tasks were added."""
    now = utcnow()
    row = session.exec(
        select(Integration).where(Integration.user_id == user_id, Integration.provider == DEMO)
    ).first()
    if row is None:
        row = Integration(user_id=user_id, provider=DEMO, status="connected", created_at=now)
    row.status, row.last_sync_at, row.updated_at = "connected", now, now
    session.add(row)
    existing = set(
        session.exec(select(Task.external_id).where(Task.user_id == user_id, Task.source == DEMO)).all()
    )
    added = 0
    for t in sample_tasks(now, seed=user_id):
        if t.external_id in existing:
            continue
        session.add(
            Task(
                user_id=user_id,
                source=DEMO,
                external_id=t.external_id,
                content=t.content,
                priority=t.priority,
                labels=t.labels,
                length_minutes=estimate_minutes(t.content, t.labels.split(",")),
                added_at=t.added_at,
                due_kind="date" if t.due_date else "none",
                due_date=t.due_date,
                updated_at=now,
            )
        )
        added += 1
    session.commit()
    return added


def disconnect(*, session: Session, user_id: int, provider: str) -> bool:
    """Remove one of the user's integrations and its cached tasks; False if there was none."""
    row = session.exec(
        select(Integration).where(Integration.user_id == user_id, Integration.provider == provider)
    ).first()
    if row is None:
        return False
    session.exec(delete(Task).where(col(Task.user_id) == user_id, col(Task.source) == provider))
    session.delete(row)
    session.commit()
    return True


class Disconnected(StrEnum):
    """How a disconnect ended."""

    DONE = "done"  # removed (and, for Todoist, revoked at Todoist)
    NOT_REVOKED = "not_revoked"  # removed here, but Todoist could not confirm the revocation
    NOT_CONNECTED = "not_connected"


async def disconnect_source(*, user_id: int, provider: str) -> Disconnected:
    """Disconnect one of the user's sources; Todoist's token is revoked at Todoist first.

    Account deletion and the admin "revoke integration" action use this too.
    """
    if provider == TODOIST:
        revoked = await todoist.disconnect(user_id=user_id)
        if revoked is None:
            return Disconnected.NOT_CONNECTED
        return Disconnected.DONE if revoked else Disconnected.NOT_REVOKED
    with session_scope() as session:
        removed = disconnect(session=session, user_id=user_id, provider=provider)
    return Disconnected.DONE if removed else Disconnected.NOT_CONNECTED
