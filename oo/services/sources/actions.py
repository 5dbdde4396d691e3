"""Carry out the "close at source" outbox: Done in oO closes the task in Todoist.

The feedback service writes a pending ``SourceAction`` in the same transaction as the reaction, so
a reaction is never lost; this module works the outbox off. Each action is claimed atomically (a
conditional UPDATE that only one worker can win, which also leases it for `LEASE`), so the
periodic job and the immediate kick after a Done may run in several workers at once without
closing a task twice. Outcomes:

* success, or 404 (already gone at Todoist): done; the user's cache is refreshed, so a recurring
  task shows its next occurrence and a finished one leaves the cache;
* 401/403: the integration needs a reconnect and the action waits, its attempt not counted; it
  becomes due again when the user reconnects;
* anything else: retried with exponential backoff and jitter, failed after `MAX_ATTEMPTS`
  with a logged error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from oo import offload
from oo.bus import Event
from oo.db import session_scope
from oo.integrations.todoist import TodoistAuthError, TodoistError, TodoistGoneError
from oo.models import TODOIST, Integration, SourceAction, utcnow
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync

log = logging.getLogger("oo.source_actions")

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)
# A claimed action is hidden from other workers this long; longer than a close with its retries.
LEASE = timedelta(minutes=3)
BATCH = 100
ACTIONS = ("close", "reopen")  # reopen: an Undo came after the close had gone out
CONCURRENCY = 8

_kicks: dict[int, asyncio.Task[RunReport]] = {}


@dataclass
class RunReport:
    """What one pass over the due actions did."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0


def due_action_ids(
    *, session: Session, now: datetime, user_id: int | None = None, limit: int = BATCH
) -> list[int]:
    """Pending Todoist actions (close, and reopen after an Undo) that are due, of users whose Todoist is connected."""
    query = (
        select(SourceAction.id)
        .join(
            Integration,
            (col(Integration.user_id) == SourceAction.user_id)
            & (col(Integration.provider) == SourceAction.source),
        )
        .where(
            SourceAction.source == TODOIST,
            col(SourceAction.action).in_(ACTIONS),
            SourceAction.status == "pending",
            col(SourceAction.next_attempt_at) <= now,
            Integration.status == "connected",
        )
        .order_by(col(SourceAction.next_attempt_at))
        .limit(limit)
    )
    if user_id is not None:
        query = query.where(SourceAction.user_id == user_id)
    return [i for i in session.exec(query).all() if i is not None]


def fail_orphans(*, session: Session) -> int:
    """Pending Todoist actions of users with no Todoist integration at all can never run: fail them."""
    connected = select(Integration.user_id).where(Integration.provider == TODOIST)
    result = session.exec(
        update(SourceAction)
        .where(col(SourceAction.source) == TODOIST, col(SourceAction.status) == "pending")
        .where(col(SourceAction.user_id).not_in(connected))
        .values(status="failed", last_error="Todoist is not connected.")
    )
    session.commit()
    return int(result.rowcount or 0)


def claim(*, session: Session, action_id: int, now: datetime) -> SourceAction | None:
    """Take one due action for this worker (atomic); None if another worker was first."""
    result = session.exec(
        update(SourceAction)
        .where(col(SourceAction.id) == action_id, col(SourceAction.status) == "pending")
        .where(col(SourceAction.next_attempt_at) <= now)
        .values(attempts=SourceAction.attempts + 1, next_attempt_at=now + LEASE)
    )
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(SourceAction, action_id, populate_existing=True)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Delay before the next attempt: exponential, capped, with jitter in [50 %, 100 %].

    Examples:
        >>> backoff(1, random.Random(0)) <= BACKOFF_BASE
        True
        >>> backoff(30, random.Random(0)) <= BACKOFF_CAP
        True
    """
    full = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return full * (0.5 + 0.5 * (rng or random).random())


def finish(*, session: Session, action: SourceAction, outcome: str, error: str | None = None) -> None:
    """Record the outcome of a claimed action: ``done``, ``retry``, ``wait`` (auth) or ``failed``."""
    now = utcnow()
    action.last_error = error[:500] if error else None
    if outcome == "done":
        action.status = "done"
    elif outcome == "wait":
        action.attempts, action.next_attempt_at = max(0, action.attempts - 1), now
    elif outcome == "retry" and action.attempts < MAX_ATTEMPTS:
        action.next_attempt_at = now + backoff(action.attempts)
    else:
        action.status = "failed"
    session.add(action)
    session.commit()


async def run_due(*, user_id: int | None = None, limit: int = BATCH) -> RunReport:
    """Claim and carry out due actions (all users, or one); never raises."""
    report = RunReport()
    try:
        ids = await offload.slow(_due_ids, user_id, limit)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(action_id: int) -> None:
            async with gate:
                outcome = await _carry_out(action_id)
            if outcome:
                setattr(report, outcome, getattr(report, outcome) + 1)

        await asyncio.gather(*(one(i) for i in ids))
    except Exception:
        log.exception("running source actions failed")
    return report


def kick(*, user_id: int) -> asyncio.Task[RunReport]:
    """Run the user's due actions now, in the background (after a Done); one run per user at a time."""
    running = _kicks.get(user_id)
    if running is not None and not running.done():
        return running
    task = asyncio.get_running_loop().create_task(run_due(user_id=user_id), name=f"source-actions-{user_id}")
    _kicks[user_id] = task
    task.add_done_callback(lambda t: _kicks.pop(user_id, None) if _kicks.get(user_id) is t else None)
    return task


async def on_tip_feedback(event: Event) -> None:
    """Bus handler: a Done on a source task closes it at the source now, without waiting for the job."""
    if event.user_id is not None and event.data.get("reaction") == "done" and not event.is_replay:
        kick(user_id=event.user_id)


def _due_ids(user_id: int | None, limit: int) -> list[int]:
    with session_scope() as session:
        if user_id is None:
            fail_orphans(session=session)
        return due_action_ids(session=session, now=utcnow(), user_id=user_id, limit=limit)


async def _carry_out(action_id: int) -> str | None:
    """Close (or, after an Undo, reopen) one task at Todoist; returns the report field to count, or None if not claimed."""
    with session_scope() as session:
        action = claim(session=session, action_id=action_id, now=utcnow())
        creds = todoist.load_credentials(session=session, user_id=action.user_id) if action else None
    if action is None:
        return None
    if creds is None:  # disconnected or refused since the query: wait for a reconnect
        await offload.slow(_finish, action, "wait", "Todoist is not connected.")
        return "waiting"
    outcome, error = await _close(action, creds.token)
    await offload.slow(_finish, action, outcome, error)
    if outcome == "done":
        todoist_sync.request_sync(user_id=action.user_id, fresh=True)
        return "done"
    if outcome == "retry" and action.status == "failed":
        log.error(
            "giving up closing Todoist task %s for user %s after %s attempts: %s",
            action.external_id,
            action.user_id,
            action.attempts,
            error,
        )
        return "failed"
    return {"wait": "waiting", "retry": "retried"}.get(outcome, "failed")


def command_uuid(action: SourceAction) -> str:
    """The Sync API command uuid of this close: the same for every retry, so Todoist runs it once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"oo:source_action:{action.id}:{action.external_id}"))


async def _close(action: SourceAction, token: str) -> tuple[str, str | None]:
    # One attempt per claim for the HTTP-level retries too: the outbox itself retries with backoff.
    client = todoist.api_client(token, max_attempts=2)
    try:
        if action.action == "reopen":
            await client.reopen_task(action.external_id)
        else:
            await client.close_task_once(action.external_id, command_uuid(action))
    except TodoistAuthError:
        log.warning("Todoist refused the token of user %s while closing a task", action.user_id)
        await offload.slow(_needs_reconnect, action.user_id, token)
        return "wait", "Todoist no longer accepts oO's access."
    except TodoistGoneError as exc:
        log.error("closing Todoist task %s: %s", action.external_id, exc)
        return "retry", str(exc)
    except TodoistError as exc:
        if exc.status == 404:
            log.info("Todoist task %s was already gone; nothing to close", action.external_id)
            return "done", None
        log.warning(
            "closing Todoist task %s failed (attempt %s): %s", action.external_id, action.attempts, exc
        )
        return "retry", str(exc)
    except Exception as exc:
        log.exception("closing Todoist task %s failed unexpectedly", action.external_id)
        return "retry", type(exc).__name__
    return "done", None


def _finish(action: SourceAction, outcome: str, error: str | None) -> None:
    with session_scope() as session:
        finish(session=session, action=action, outcome=outcome, error=error)


def _needs_reconnect(user_id: int, token: str) -> None:
    with session_scope() as session:
        todoist.mark_needs_reconnect(
            session=session,
            user_id=user_id,
            reason="Todoist no longer accepts oO's access. Reconnect to resume.",
            refused_token=token,
        )
