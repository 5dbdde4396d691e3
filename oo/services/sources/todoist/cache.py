"""Apply a Todoist ``/sync`` answer to the user's task cache (database only, no network).

A full sync replaces the cache with Todoist's active tasks; an incremental one applies the
changed items. Completed, deleted and uncompletable (``* ``) tasks leave the cache. A task the
user marked Done in oO stays done while its close is still pending at Todoist, unless Todoist
shows that a recurring task has already moved on to its next occurrence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from oo.bus import SyncCounts
from oo.integrations.todoist import NormalizedTask, SyncResult, TodoistTask, normalize_task
from oo.models import TODOIST, Integration, SourceAction, Task, User, table, utcnow
from oo.recommender.task_length import estimate_minutes

log = logging.getLogger("oo.todoist.sync")

MAX_ID = 64
TASK_URL = "https://app.todoist.com/app/task/{id}"

# Built once: constructing SQLAlchemy statements costs more than running them, and these two run
# on every sync (most incremental answers are empty).
_integration, _task = table(Integration), table(Task)
_MARK_SYNCED = (
    sa.update(_integration)
    .where(_integration.c.user_id == sa.bindparam("b_user_id"), _integration.c.provider == TODOIST)
    .where(_integration.c.status == "connected")
    .values(
        sync_token=sa.bindparam("b_sync_token"),
        last_sync_at=sa.bindparam("b_now"),
        last_error=None,
        updated_at=sa.bindparam("b_now"),
    )
)
# All of the user's Todoist tasks (answered from the unique index alone) minus the few done ones:
# several times cheaper than filtering on completed_at, which needs a row lookup per task.
_ALL_TASKS = (
    sa.select(sa.func.count())
    .select_from(_task)
    .where(_task.c.user_id == sa.bindparam("b_user_id"), _task.c.source == TODOIST)
    .scalar_subquery()
)
_DONE_TASKS = (
    sa.select(sa.func.count())
    .select_from(_task)
    .where(_task.c.user_id == sa.bindparam("b_user_id"), _task.c.completed_at.is_not(None))
    .where(_task.c.source == TODOIST)
    .scalar_subquery()
)
_OPEN_COUNT = sa.select(_ALL_TASKS - _DONE_TASKS)


def apply_sync(
    *, session: Session, user_id: int, result: SyncResult, full: bool, timezone: str
) -> SyncCounts:
    """Write one sync answer to the cache, store the next sync token, and commit.

    Args:
        session: Database session.
        user_id: The user whose cache this is.
        result: The parsed ``/sync`` answer.
        full: True when it was a full sync (the answer lists every active task).
        timezone: The user's zone as stored; a different one in ``result.user`` replaces it.

    Returns:
        How many tasks were written and removed, and how many open ones the cache now holds.
    """
    now = utcnow()
    next_token: str | None
    tz, next_token = timezone, result.sync_token
    if result.user is not None and result.user.timezone and result.user.timezone != timezone:
        tz = _set_timezone(session, user_id, result.user.timezone)
        # Cached floating due times were resolved in the old zone: re-read everything next time.
        next_token = result.sync_token if full else None
    # First the integration (one statement, no entity load: most incremental answers are empty).
    marked = session.exec(
        _MARK_SYNCED, params={"b_user_id": user_id, "b_sync_token": next_token, "b_now": now}
    )
    if marked.rowcount != 1:
        # Disconnected (or refused) while the request was in flight: write nothing.
        session.rollback()
        return SyncCounts()
    upserted, removed = _apply_items(session, user_id, result.items, full=full, tz=tz)
    total = open_count(session=session, user_id=user_id)
    session.commit()
    return SyncCounts(upserted=upserted, removed=removed, total=total)


def _apply_items(
    session: Session, user_id: int, items: list[TodoistTask], *, full: bool, tz: str
) -> tuple[int, int]:
    """Upsert active items and drop finished ones; a full answer also drops what it omits.

    New tasks are inserted in one executemany (a first sync brings hundreds); changed ones are
    updated through the ORM (an incremental answer holds a few).
    """
    items = [i for i in items if 0 < len(i.id) <= MAX_ID]
    if not items and not full:
        return 0, 0
    existing = _existing(session, user_id, None if full else {i.id for i in items})
    pending = _pending_closes(session, user_id) if any(r.completed_at for r in existing.values()) else set()
    new: dict[str, dict[str, Any]] = {}
    updated: set[str] = set()
    removed = 0
    now = utcnow()
    for item in items:
        if item.checked or item.is_deleted or item.content.startswith("* "):
            new.pop(item.id, None)
            updated.discard(item.id)
            removed += _drop(session, existing, item.id)
            continue
        normalized = _normalize(item, tz)
        if normalized is None:
            continue
        values = _values(normalized, now)
        row = existing.get(item.id)
        if row is None:
            new[item.id] = {**values, "user_id": user_id, "source": TODOIST, "external_id": item.id}
        else:
            session.add(_update(row, values, keep_done=item.id in pending))
            updated.add(item.id)
    if new:
        session.exec(sa.insert(_task), params=list(new.values()))
    if full:
        removed += _remove_missing(session, existing.values(), set(new) | updated)
    return len(new) + len(updated), removed


def open_count(*, session: Session, user_id: int) -> int:
    """Open Todoist tasks in the user's cache."""
    session.flush()  # a Core statement does not autoflush pending rows
    return int(session.connection().execute(_OPEN_COUNT, {"b_user_id": user_id}).scalar_one())


def _existing(session: Session, user_id: int, ids: set[str] | None) -> dict[str, Task]:
    if ids is not None and not ids:
        return {}
    query = select(Task).where(Task.user_id == user_id, Task.source == TODOIST)
    if ids is not None:
        query = query.where(col(Task.external_id).in_(ids))
    return {t.external_id: t for t in session.exec(query).all()}


def _pending_closes(session: Session, user_id: int) -> set[str]:
    return set(
        session.exec(
            select(SourceAction.external_id).where(
                SourceAction.user_id == user_id,
                SourceAction.source == TODOIST,
                SourceAction.status == "pending",
                SourceAction.action == "close",
            )
        ).all()
    )


def _normalize(item: TodoistTask, tz: str) -> NormalizedTask | None:
    try:
        return normalize_task(item, tz)
    except (ValueError, pydantic.ValidationError):
        log.warning("skipping Todoist task %s: unreadable due or deadline date", item.id)
        return None


def _values(task: NormalizedTask, now: datetime) -> dict[str, Any]:
    """The Task columns a Todoist task sets (insert and update alike)."""
    return {
        "content": task.content,
        "description": task.description,
        "project_id": task.project_id[:MAX_ID] if task.project_id else None,
        "priority": task.priority,
        "labels": ",".join(task.labels)[:1000],
        "added_at": task.added_at or now,
        "due_kind": task.due_kind,
        "due_date": task.due_date,
        "due_at": task.due_at,
        "is_recurring": task.is_recurring,
        "deadline": task.deadline,
        "url": (task.url or TASK_URL.format(id=task.id))[:500],
        "length_minutes": estimate_minutes(task.content, task.labels, task.duration_minutes),
        "completed_at": None,
        "snoozed_until": None,
        "updated_at": now,
    }


def _update(row: Task, values: dict[str, Any], *, keep_done: bool) -> Task:
    """Apply Todoist's view to a cached task, keeping oO's own state (done, snoozed)."""
    advanced = (row.due_date, row.due_at) != (values["due_date"], values["due_at"])
    done = row.completed_at if (row.completed_at is not None and keep_done and not advanced) else None
    for key, value in values.items():
        if key not in ("added_at", "snoozed_until", "completed_at"):
            setattr(row, key, value)
    row.completed_at = done
    return row


def _drop(session: Session, existing: dict[str, Task], external_id: str) -> int:
    row = existing.pop(external_id, None)
    if row is None:
        return 0
    session.delete(row)
    return 1


def _remove_missing(session: Session, rows: Iterable[Task], active: set[str]) -> int:
    gone = [r.id for r in rows if r.external_id not in active]
    if gone:
        session.exec(delete(Task).where(col(Task.id).in_(gone)))
    return len(gone)


def _set_timezone(session: Session, user_id: int, tz: str) -> str:
    user = session.get(User, user_id)
    if user is not None:
        user.timezone = tz[:64]
        session.add(user)
    return tz
