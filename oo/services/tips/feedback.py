"""Reactions to tips (R3, R5): recorded exactly once, learned from once, never lost.

`record` is the one path for every reaction — the /tip buttons, ``POST /api/v1/feedback``,
the admin reward op and the delayed reward of a task completed at its source:

* **Idempotent:** one row per (user, idempotency key). The same key again returns the stored
  result and changes nothing; the same key with a different tip or reaction is a conflict.
* **First reward wins** (a scripted client cannot skew the model): the first reaction to a tip
  is learned; of the later ones only a first Done is learned too (Helpful then Done teaches
  both); the rest are recorded (``tip_feedback``) but not learned. The rule, and the weak
  ``ignored`` signal of a tip left without a reaction, live in `oo.services.learning.signals`.
* **Transactional outbox:** the feedback row (``applied_at`` NULL), the task change (done,
  snooze, dismiss) and, for a Done on a real source, the ``source_action`` that closes the task
  there are written in one transaction; then `oo.services.learning.learner.apply` learns and sets
  ``applied_at``. A crash in between leaves the row pending for the outbox job.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo.bus import Event
from oo.bus import TipFeedback as TipFeedbackPayload
from oo.models import DEMO, SourceAction, Task, TipFeedback, TipView, utcnow
from oo.recommender import REWARDS
from oo.services.advice import mixing
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner, signals
from oo.services.tips import reaction_rows as rows

log = logging.getLogger("oo.feedback")

REACTIONS = tuple(REWARDS)  # done, helpful, snooze, not_helpful, dismiss
ORIGINS = ("user", "webhook", "admin")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TIP_ID_RE = re.compile(r"^[0-9a-f]{32}$")
DISMISS_FOR = timedelta(days=1)


class FeedbackError(ValueError):
    """A reaction that cannot be recorded; ``code`` is stable for API clients."""

    code = "invalid"


class TipNotFound(FeedbackError):
    """No tip with that id belongs to the caller."""

    code = "tip_not_found"


class IdempotencyConflict(FeedbackError):
    """The idempotency key was already used for a different tip or reaction."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class FeedbackResult:
    """What happened to one reaction."""

    feedback_id: int
    tip_id: str
    task_id: int | None
    reaction: str
    reward: float
    origin: str
    first: bool  # the first reaction to this tip: the one the learner learns from
    learned: bool  # the learner has absorbed it (False: not first, or still pending)
    duplicate: bool  # this key was already recorded: nothing changed this time
    created_at: datetime


def check_key(key: object) -> str:
    """A client-made idempotency key: 1-64 characters of ``[A-Za-z0-9_-]``.

    Examples:
        >>> check_key("a1-b2_c3")
        'a1-b2_c3'
        >>> check_key("no spaces")
        Traceback (most recent call last):
        ...
        oo.services.tips.feedback.FeedbackError: idempotency key must be 1-64 characters of A-Z a-z 0-9 _ -
    """
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise FeedbackError("idempotency key must be 1-64 characters of A-Z a-z 0-9 _ -")
    return key


def check_reaction(reaction: object) -> str:
    """One of `REACTIONS`."""
    if not isinstance(reaction, str) or reaction not in REWARDS:
        raise FeedbackError(f"reaction must be one of {', '.join(REACTIONS)}")
    return reaction


def _result(
    row: TipFeedback | rows.FeedbackRow,
    task_id: int | None,
    first: bool,
    duplicate: bool,
    learn: bool | None = None,
) -> FeedbackResult:
    assert row.id is not None
    learn = first if learn is None else learn
    return FeedbackResult(
        feedback_id=row.id,
        tip_id=row.tip_id,
        task_id=task_id,
        reaction=row.reaction,
        reward=row.reward,
        origin=row.origin,
        first=first,
        learned=learn and row.applied_at is not None,
        duplicate=duplicate,
        created_at=row.created_at,
    )


def _existing(session: Session, user_id: int, key: str, tip_id: str, reaction: str) -> FeedbackResult | None:
    # The common case is a new key: one prebuilt Core statement says so without the ORM.
    if session.connection().execute(rows.KEY_USED, {"user_id": user_id, "key": key}).first() is None:
        return None
    row = session.exec(
        select(TipFeedback).where(TipFeedback.user_id == user_id, TipFeedback.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.tip_id != tip_id or row.reaction != reaction:
        raise IdempotencyConflict("this idempotency key was already used for another tip or reaction")
    first_id = session.exec(
        select(TipFeedback.id)
        .where(TipFeedback.tip_id == row.tip_id, TipFeedback.origin != signals.SIGNAL_ORIGIN)
        .order_by(col(TipFeedback.id))
    ).first()
    tip = session.get(TipView, row.tip_id)
    return _result(row, tip.task_id if tip else None, first=first_id == row.id, duplicate=True)


def _apply_to_task(
    session: Session,
    user_id: int,
    tip: rows.Tip,
    reaction: str,
    now: datetime,
    snooze_hours: int,
    hold: timedelta | None = None,
) -> None:
    if tip.kind == "advice" or reaction not in ("done", "snooze", "dismiss"):
        return  # advice has no task (Done means "I did it"); helpful / not helpful judge the tip
    task = session.get(Task, tip.task_id) if tip.task_id is not None else None
    if task is None or task.user_id != user_id or task.completed_at is not None:
        return
    if reaction == "done":
        task.completed_at = now
        if task.source != DEMO:
            # The Todoist engineer's worker closes it at the source (outbox, retried).
            session.add(
                SourceAction(
                    user_id=user_id,
                    task_id=task.id,
                    source=task.source,
                    external_id=task.external_id,
                    action="close",
                    next_attempt_at=now + hold if hold else now,  # held while the reaction can be undone
                )
            )
    elif reaction == "snooze":
        task.snoozed_until = now + timedelta(hours=snooze_hours)
    elif reaction == "dismiss":
        task.snoozed_until = now + DISMISS_FOR
    task.updated_at = now
    session.add(task)


def record(
    *,
    session: Session,
    user_id: int,
    tip_id: str,
    reaction: str,
    idempotency_key: str,
    origin: str = "user",
    snooze_hours: int = 3,
    now: datetime | None = None,
    hold: timedelta | None = None,
    write_behind: bool = False,
) -> FeedbackResult:
    """Record one reaction to one of the user's tips, apply it to the task, and learn from it.

    Args:
        session: Database session.
        user_id: The authenticated user (the tip must be theirs).
        tip_id: The public tip id (``tip_view.id``).
        reaction: One of `REACTIONS`.
        idempotency_key: Made by the client; the same key is recorded once.
        origin: ``user`` (changes the task), ``webhook`` (delayed reward) or ``admin``.
        snooze_hours: How long a snooze hides the task.
        now: The moment of the reaction (aware); defaults to now.
        write_behind: Teach the in-memory models now and persist them with the next flush
            (`oo.services.learner_hot`, /tip); ``learned`` stays False until then. Otherwise
            the models are written before this returns.
        hold: The reaction's undo window (`oo.services.tips.undo`): the learner is not taught and the
            task is not closed at its source until it has passed (the row stays pending).

    Returns:
        The result; ``duplicate`` is true when the key had been recorded before.

    Raises:
        FeedbackError: For a malformed key, reaction or tip id.
        TipNotFound: When the tip does not exist or is another user's.
        IdempotencyConflict: When the key was used for another tip or reaction.
    """
    key, reaction = _checked(idempotency_key, reaction, origin, tip_id)
    now = now or utcnow()
    row = rows.FeedbackRow(tip_id, user_id, reaction, REWARDS[reaction], key, origin, now)
    found = _claim_or_find(session, row)
    if isinstance(found, FeedbackResult):
        return found  # a key recorded before
    tip, claimed = found
    written = _write(session, tip, row, snooze_hours, hold, claimed=claimed)
    if isinstance(written, FeedbackResult):
        return written  # the same key raced in from another request, which recorded it
    first, learn = written
    if learn and not hold:  # held: learned once its undo window has passed (`undo.settle`)
        _teach(session, tip, row, now, write_behind=write_behind)
    return _result(row, tip.task_id, first=first, duplicate=False, learn=learn)


def _claim_or_find(session: Session, row: rows.FeedbackRow) -> tuple[rows.Tip, bool] | FeedbackResult:
    """The tip a new reaction answers and whether it was claimed here; or a recorded key's result.

    The common case, a first reaction with a new key, is one statement: claim the tip (the
    caller's, still unanswered) and read back what the reaction needs of it. It is tried only in a
    session with nothing else in flight, because a claim that matches no row still took SQLite's
    write lock, which the rollback lets go of. A key used before fails the insert later, which
    rolls the claim back and answers from the stored row.

    Raises:
        TipNotFound: When the tip does not exist or is another user's.
        IdempotencyConflict: When the key was used for another tip or reaction.
    """
    fresh = not session.in_transaction()
    claimed = (
        session.connection().execute(rows.CLAIM_FIRST, rows.claim_params(row)).first() if fresh else None
    )
    if claimed is not None:
        return rows.tip_of(claimed), True
    if fresh:
        session.rollback()
    user_id, key = row.user_id, row.idempotency_key
    found = (
        session.connection().execute(rows.TIP, {"tip_id": row.tip_id, "user_id": user_id, "key": key}).first()
    )
    if found is None or found.key_used is not None:
        known = _existing(session, user_id, key, row.tip_id, row.reaction)
        if known is not None:
            return known
    if found is None or found.user_id != user_id:
        raise TipNotFound("no such tip")
    return rows.tip_of(found), False


def _checked(idempotency_key: object, reaction: object, origin: str, tip_id: object) -> tuple[str, str]:
    """The validated key and reaction; `FeedbackError` for anything malformed."""
    key, checked = check_key(idempotency_key), check_reaction(reaction)
    if origin not in ORIGINS:
        raise FeedbackError(f"origin must be one of {ORIGINS}")
    if not isinstance(tip_id, str) or not TIP_ID_RE.match(tip_id):
        raise FeedbackError("tip id must be 32 lowercase hex characters")
    return key, checked


def _write(
    session: Session,
    tip: rows.Tip,
    row: rows.FeedbackRow,
    snooze_hours: int,
    hold: timedelta | None,
    *,
    claimed: bool,
) -> tuple[bool, bool] | FeedbackResult:
    """Claim the tip's first reaction (unless ``claimed``), apply it to the task, insert the row: one commit.

    Returns whether it is the tip's first reaction and whether the learner should learn from it
    (``row`` gets its id); or, when the same key raced in from another request (or was used
    before), that request's result.
    """
    now, reaction = row.created_at, row.reaction
    # Core, built once: the ORM's bulk update (with its session sync) cost ~0.9 ms per reaction.
    first = claimed or session.connection().execute(rows.CLAIM, rows.claim_params(row)).rowcount == 1
    learn = first or signals.later_absorbed(session, tip.id, reaction)
    signals.note_answered(tip.user_id, tip.id)
    if row.origin == "user":
        _apply_to_task(session, tip.user_id, tip, reaction, now, snooze_hours, hold)
    row.applied_at = None if learn else now
    try:  # a Core insert: no ORM object, no unit-of-work flush
        inserted = session.connection().execute(rows.INSERT, row.values()).inserted_primary_key
        assert inserted is not None
        row.id = inserted[0]
        session.commit()
    except IntegrityError:
        session.rollback()  # the claim too: the tip stays as the stored reaction left it
        raced = _existing(session, tip.user_id, row.idempotency_key, tip.id, reaction)
        if raced is None:
            raise
        return raced
    return first, learn


def _teach(
    session: Session, tip: rows.Tip, row: rows.FeedbackRow, now: datetime, *, write_behind: bool
) -> None:
    """Teach the learner from a recorded reaction: in memory (write-behind) or written now.

    A failure is logged and left to the outbox job (the row stays unapplied), never raised.
    """
    if not write_behind:
        try:
            learner.apply(session=session, feedback_id=row.id)  # type: ignore[arg-type]
        except Exception:
            session.rollback()
            log.exception("learning from feedback %s failed; the outbox job will retry", row.id)
        row.applied_at = session.connection().execute(rows.APPLIED, {"id": row.id}).scalar()
        return
    if not _learn_kind_once(
        session, user_id=tip.user_id, tip_id=tip.id, features=tip.features, reward=row.reward, now=now
    ):
        return  # left pending: the outbox job teaches both learners
    try:
        learner_hot.learn_now(
            session=session,
            user_id=tip.user_id,
            feedback_id=row.id,  # type: ignore[arg-type]
            reward=row.reward,
            xs=learner.logged_features(tip.features),
        )
    except Exception:
        session.rollback()
        log.exception("learning from feedback %s failed; the outbox job will retry", row.id)


def _learn_kind_once(
    session: Session, *, user_id: int, tip_id: str, features: str | None, reward: float, now: datetime
) -> bool:
    """Teach the task-or-advice learner a reward now, exactly once, if a kind was drawn for the tip.

    The write-behind path of a reaction that is not held (held ones learn when they settle:
    `oo.services.tips.undo`), through `mixing.learn_from_tip_once`; ``features`` is the tip's
    logged ``tip_view.features`` as just read. False when it failed (logged, not raised): the
    reaction is then left pending for the outbox, which teaches both learners.
    """
    if mixing.FEATURES_KEY not in (features or ""):
        return True
    try:
        mixing.learn_from_tip_once(
            session=session, user_id=user_id, tip_id=tip_id, reward=reward, now=now, features=features
        )
    except Exception:
        session.rollback()
        log.exception("the kind learner could not learn from tip %s; the outbox job will retry", tip_id)
        return False
    return True


def feedback_event(result: FeedbackResult, *, user_id: int) -> Event:
    """The ``signals.tip.feedback`` event of a recorded reaction."""
    return Event.of(
        TipFeedbackPayload(tip_id=result.tip_id, reaction=result.reaction, reward=result.reward),
        user_id=user_id,
    )
