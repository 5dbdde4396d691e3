"""Undo (U9): a reaction given on /tip can be taken back for a few seconds.

Design — *held, not reverted*: a reaction on /tip is recorded at once (a reaction is never lost)
but held for its undo window (`HOLD`): ``feedback.record(hold=...)`` leaves the learner untaught
(the row stays pending, ``applied_at`` NULL) and queues a Done's close at the task's source with
``next_attempt_at`` at the end of the window. So there is nothing to revert:

* `withdraw` (Undo) deletes the pending row, clears the tip's reaction, gives the task back its
  open state (not done, not snoozed) and cancels the held close — all in one transaction. The
  learner never saw the reaction.
* `settle` runs when the window has passed: it teaches the learner (the in-memory models, written
  behind like every /tip reaction) and runs
  the due source actions. The outbox job (``apply_pending``) and the source-action job are the
  backstop for a restart or a lost timer.

Withdrawing and learning both claim the row with ``applied_at IS NULL``, so exactly one of them
wins: an Undo that comes too late is refused and changes nothing. A close that already went out
(a retried or claimed action at the edge of the window) is answered with a ``reopen`` at the
source. The JSON API and push reactions are not held (nothing offers them an Undo).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from oo import singletons
from oo.db import session_scope
from oo.models import SourceAction, Task, TipFeedback, TipView, utcnow
from oo.services.advice import mixing
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner
from oo.services.sources import actions as source_actions
from oo.services.tips.feedback import FeedbackError, check_key

log = logging.getLogger("oo.undo")

UNDO_SECONDS = 8  # how long /tip offers Undo after a reaction
GRACE_SECONDS = 4  # the server still takes an Undo this much later (latency, a slow tap)
HOLD = timedelta(seconds=UNDO_SECONDS + GRACE_SECONDS)

# At most this many reactions learned in one thread hop and one session (~2 s of learning). Each hop
# takes every reaction due, so behind a long queue of tips settling keeps pace with the reactions
# coming in: capped at 500, it fell behind a saturated worker that took 166 a second while each hop
# waited 5 s for its turn (bench/README.md).
SETTLE_BATCH = 5_000
SETTLE_SLACK = 0.05  # seconds: reactions due this soon join the batch

_timers: set[asyncio.Task[None]] = set()
_due: deque[tuple[float, int, int, bool]] = deque()  # (loop time due, user id, feedback id, kick)
_runner: asyncio.Task[None] | None = None


class NothingToUndo(FeedbackError):
    """No reaction of the caller's with that key on that tip."""

    code = "nothing_to_undo"


class TooLateToUndo(FeedbackError):
    """The undo window has passed (the reaction was learned, or its close went out)."""

    code = "too_late_to_undo"


@dataclass(frozen=True)
class Withdrawn:
    """A withdrawn reaction: what it was, and whether its source must reopen the task."""

    tip_id: str
    reaction: str
    task_id: int | None
    reopen: bool


def _restore_task(session: Session, user_id: int, tip: TipView, reaction: str, now: datetime) -> bool:
    """Give the task its open state back; True when a close already went out (reopen queued)."""
    task = session.get(Task, tip.task_id) if tip.task_id is not None else None
    if task is not None and task.user_id == user_id:
        if reaction == "done":
            task.completed_at = None
        elif reaction in ("snooze", "dismiss"):
            task.snoozed_until = None
        task.updated_at = now
        session.add(task)
    if reaction != "done" or not tip.external_id:
        return False
    close = session.exec(
        select(SourceAction)
        .where(
            SourceAction.user_id == user_id,
            SourceAction.source == tip.source,
            SourceAction.external_id == tip.external_id,
            SourceAction.action == "close",
        )
        .order_by(col(SourceAction.id).desc())
    ).first()
    if close is None:
        return False  # a demo task: nothing happens at a source
    cancelled = cast(
        "CursorResult[Any]",
        session.execute(
            update(SourceAction)
            .where(col(SourceAction.id) == close.id, col(SourceAction.status) == "pending")
            .where(col(SourceAction.attempts) == 0)  # never claimed: it has not gone out
            .values(status="cancelled", last_error="Undone by the user.")
        ),
    )
    if cancelled.rowcount == 1:
        return False
    session.add(
        SourceAction(
            user_id=user_id,
            task_id=tip.task_id,
            source=tip.source,
            external_id=tip.external_id,
            action="reopen",
        )
    )
    return True


def withdraw(
    *, session: Session, user_id: int, tip_id: str, key: str, now: datetime | None = None
) -> Withdrawn:
    """Take back the caller's reaction ``key`` on ``tip_id`` while its window is open.

    Raises:
        FeedbackError: For a malformed key.
        NothingToUndo: When no such reaction of the caller's exists (or it came from elsewhere).
        TooLateToUndo: When the window has passed or the learner has already learned it.
    """
    key = check_key(key)
    row = session.exec(
        select(TipFeedback).where(TipFeedback.user_id == user_id, TipFeedback.idempotency_key == key)
    ).first()
    if row is None or row.tip_id != tip_id or row.origin != "user":
        raise NothingToUndo("nothing to undo")
    now = now or utcnow()
    if now - row.created_at > HOLD:
        raise TooLateToUndo("too late to undo")
    gone = cast(
        "CursorResult[Any]",
        session.execute(
            delete(TipFeedback).where(col(TipFeedback.id) == row.id, col(TipFeedback.applied_at).is_(None))
        ),
    )
    if gone.rowcount != 1:
        session.rollback()
        raise TooLateToUndo("too late to undo")
    tip = session.get(TipView, tip_id)
    reopen = False
    if tip is not None:
        remaining = session.exec(select(TipFeedback.id).where(TipFeedback.tip_id == tip_id)).first()
        if remaining is None and tip.reaction == row.reaction:
            tip.reaction, tip.reacted_at = None, None
            session.add(tip)
        reopen = _restore_task(session, user_id, tip, row.reaction, now)
    session.commit()
    log.info("user %s withdrew %s on tip %s", user_id, row.reaction, tip_id)
    return Withdrawn(
        tip_id=tip_id, reaction=row.reaction, task_id=tip.task_id if tip else None, reopen=reopen
    )


_HELD = (
    sa.select(
        col(TipFeedback.id),
        col(TipFeedback.user_id),
        col(TipFeedback.reward),
        col(TipView.features),
        col(TipFeedback.tip_id),
    )
    .select_from(TipFeedback)
    .outerjoin(TipView, col(TipView.id) == col(TipFeedback.tip_id))
    .where(
        col(TipFeedback.id).in_(sa.bindparam("ids", expanding=True)), col(TipFeedback.applied_at).is_(None)
    )
)


def settle_now(*, session: Session, feedback_id: int) -> bool:
    """Teach the learner a held reaction whose window has passed (no-op if withdrawn or learned).

    It goes the way of every /tip reaction: into the user's in-memory models now, persisted by the
    next write-behind flush (`oo.services.learning.hot`).
    """
    return _settle(session, [feedback_id]) > 0


def _settle(session: Session, feedback_ids: list[int]) -> int:
    """`settle_now` for many reactions: one read of what is still held, then each is learned.

    The task-or-advice learner learns too, when a kind was drawn for the tip. A reaction whose
    kind learning failed (`mixing.Taught.failed`) is not taught to the task models here either: it
    stays pending, and the feedback outbox (`learner.apply_pending`) teaches both learners later.
    """
    held = {r[0]: r for r in session.connection().execute(_HELD, {"ids": feedback_ids}).all()}
    kinds = [
        (r.user_id, r.tip_id, r.features, r.reward) for f in feedback_ids if (r := held.get(f)) is not None
    ]
    failed = mixing.learn_from_tips_once(session=session, tips=kinds, now=utcnow()).failed
    versions = learner_hot.versions_of(session, {r.user_id for r in held.values()})  # one read for the batch
    learned = 0
    for feedback_id in feedback_ids:  # in the order they came
        if feedback_id not in held:
            continue  # withdrawn, or already learned
        _, user_id, reward, features, tip_id = held[feedback_id]
        if tip_id in failed:
            log.warning("held feedback %s is left to the outbox: its kind learning failed", feedback_id)
            continue
        try:
            xs = learner.logged_features(features)
            learned += (
                learner_hot.learn_now(
                    session=session,
                    user_id=user_id,
                    feedback_id=feedback_id,
                    reward=reward,
                    xs=xs,
                    versions=versions[user_id],
                )
                > 0
            )
        except Exception:  # one bad row must not hold back the others; the outbox job retries it
            log.exception("learning held feedback %s failed", feedback_id)
            session.rollback()
    return learned


def schedule_settle(*, user_id: int, feedback_id: int, kick: bool = True) -> None:
    """After `HOLD`, learn the reaction and (``kick``: a Done) run the user's due source actions.

    One settling task per event loop works through the reactions in the order they came (the
    window is the same for all): every reaction whose window has passed is learned in one thread
    hop and one database session, instead of a timer, a thread hop and a session each.
    """
    global _runner
    loop = asyncio.get_running_loop()
    _due.append((loop.time() + HOLD.total_seconds() + 0.5, user_id, feedback_id, kick))
    if _runner is None or _runner.done() or _runner.get_loop() is not loop:
        _runner = loop.create_task(_settle_due(), name="settle-held-reactions")
        _timers.add(_runner)
        _runner.add_done_callback(_timers.discard)


async def _settle_due() -> None:
    loop = asyncio.get_running_loop()
    while _due:
        wait = _due[0][0] - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        batch: list[tuple[float, int, int, bool]] = []
        while _due and _due[0][0] <= loop.time() + SETTLE_SLACK and len(batch) < SETTLE_BATCH:
            batch.append(_due.popleft())
        try:
            await asyncio.to_thread(_settle_batch, [feedback_id for _, _, feedback_id, _ in batch])
        except Exception:  # the outbox job retries
            log.exception("learning %d held reactions failed", len(batch))
        for user_id in dict.fromkeys(u for _, u, _, kick in batch if kick):
            source_actions.kick(user_id=user_id)


def _settle_batch(feedback_ids: list[int]) -> None:
    with session_scope() as session:
        _settle(session, feedback_ids)


def _forget_due() -> None:
    global _runner
    _due.clear()
    _runner = None


singletons.on_reset("tips.undo.settle", _forget_due)
