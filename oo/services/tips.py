"""The tip on /tip: pick one open task, and record what the user did with it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, col, or_, select

from oo.models import Task, utcnow


class Reaction(StrEnum):
    """What a person can do with a tip."""

    DONE = "done"
    SNOOZE = "snooze"
    DISMISS = "dismiss"


@dataclass(frozen=True)
class Tip:
    """One tip as the page shows it."""

    task_id: int
    text: str
    source: str


def open_tasks(*, session: Session, user_id: int) -> list[Task]:
    """The user's open tasks that are not snoozed or dismissed right now."""
    now = utcnow()
    return list(
        session.exec(
            select(Task).where(
                Task.user_id == user_id,
                col(Task.completed_at).is_(None),
                or_(col(Task.snoozed_until).is_(None), col(Task.snoozed_until) <= now),
            )
        ).all()
    )


def next_tip(*, session: Session, user_id: int, exclude: int | None = None) -> Tip | None:
    """A random open task (first cut; the recommender replaces the choice)."""
    tasks = open_tasks(session=session, user_id=user_id)
    pool = [t for t in tasks if t.id != exclude] or tasks
    if not pool:
        return None
    task = random.choice(pool)
    assert task.id is not None
    return Tip(task_id=task.id, text=task.content, source=task.source)


def react(*, session: Session, user_id: int, task_id: int, reaction: Reaction, snooze_hours: int = 3) -> bool:
    """Apply a reaction to one of the user's tasks; False if the task is not theirs or not open."""
    task = session.exec(select(Task).where(Task.id == task_id, Task.user_id == user_id)).first()
    if task is None or task.completed_at is not None:
        return False
    now = utcnow()
    if reaction is Reaction.DONE:
        task.completed_at = now
    elif reaction is Reaction.SNOOZE:
        task.snoozed_until = now + timedelta(hours=snooze_hours)
    else:
        task.snoozed_until = now + timedelta(days=1)
    task.updated_at = now
    session.add(task)
    session.commit()
    return True
