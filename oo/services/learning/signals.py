"""Every signal (issue 10): tips left without a reaction, and what the learner absorbs per tip.

**Ignored.** A tip served on the web or through the API and left without any reaction is
recorded as ``ignored`` when the next tip is served to the same user (`maybe_record_ignored`,
called by `oo.services.tips.recommend.recommend`) at least `IGNORE_AFTER` after it was served (a
reload within seconds says nothing). To keep the pick's SQL lean, each process remembers the
last web/API tip it served per user until a reaction to it is recorded (`note_served`,
`note_answered`); only then is the database asked (`record_ignored`). A tip served by another
worker, or before a restart, may therefore go unrecorded: a weak signal, best effort. It is a weak signal: reward `IGNORED_REWARD` (-0.1, a tenth of a dismiss),
one ``tip_feedback`` row with origin ``signal`` and reaction ``ignored``; ``tip_view.reaction``
stays empty, so a reaction that comes later still counts as the tip's first reaction. Pushed tips
are not recorded here: a push may never have been seen (opened pushes are the push channel's).

**What the learner absorbs per tip** (`absorbs`), each as one observation of the served features:

1. ``ignored``, when it is the first record of the tip;
2. the first real reaction (done, helpful, snooze, not helpful, dismiss), whatever came before;
3. a later ``done`` (the button, the API, or the task completed at its source) when no Done was
   absorbed for that tip yet: Helpful then Done teaches both, because finishing the task is the
   strongest evidence the tip was right.

Every other later reaction is recorded (``tip_feedback``) and shown, but not learned: a client
repeating reactions cannot skew the model beyond three observations per tip.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import TipFeedback, TipView, utcnow
from oo.services.learning import learner

log = logging.getLogger("oo.signals")

IGNORED = "ignored"
IGNORED_REWARD = -0.1
SIGNAL_ORIGIN = "signal"
IGNORE_AFTER = timedelta(seconds=20)
LOOKBACK = timedelta(days=1)  # older unanswered tips are left alone (the user was away)
CHANNELS = ("web", "api")
MAX_PER_CALL = 5
MEMO_SIZE = 100_000

_memo: OrderedDict[int, tuple[str, datetime]] = OrderedDict()  # user -> last unanswered tip
_memo_lock = threading.Lock()


def note_served(user_id: int, tip_id: str, channel: str, served_at: datetime) -> None:
    """Remember a served web/API tip until a reaction to it is recorded."""
    if channel not in CHANNELS:
        return
    with _memo_lock:
        _memo[user_id] = (tip_id, served_at)
        _memo.move_to_end(user_id)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)


def note_answered(user_id: int, tip_id: str) -> None:
    """A reaction to `tip_id` was recorded: nothing of this user's is pending (if it was the last)."""
    with _memo_lock:
        if _memo.get(user_id, ("", None))[0] == tip_id:
            del _memo[user_id]


def maybe_record_ignored(*, session: Session, user_id: int, now: datetime) -> list[str]:
    """`record_ignored` when this process served the user a tip still unanswered after `IGNORE_AFTER`."""
    with _memo_lock:
        pending = _memo.get(user_id)
        if pending is None or pending[1] > now - IGNORE_AFTER:
            return []
        del _memo[user_id]
    return record_ignored(session=session, user_id=user_id, now=now)


def _forget() -> None:
    with _memo_lock:
        _memo.clear()


singletons.on_reset("learning.signals", _forget)


def absorbs(prior: list[str], reaction: str) -> bool:
    """Whether the learner learns from `reaction`, given the tip's earlier reactions in order.

    Examples:
        >>> absorbs([], "ignored"), absorbs(["ignored"], "helpful"), absorbs(["helpful"], "done")
        (True, True, True)
        >>> absorbs(["done"], "done"), absorbs(["helpful"], "dismiss"), absorbs(["snooze"], "ignored")
        (False, False, False)
    """
    if reaction == IGNORED:
        return not prior
    real = [r for r in prior if r != IGNORED]
    if not real:
        return True
    return reaction == "done" and "done" not in real


def later_absorbed(session: Session, tip_id: str, reaction: str) -> bool:
    """For a reaction that is *not* the tip's first real one: does the learner absorb it (rule 3)?"""
    prior = session.exec(
        select(TipFeedback.reaction).where(TipFeedback.tip_id == tip_id).order_by(col(TipFeedback.id))
    ).all()
    return absorbs(list(prior), reaction)


def record_ignored(*, session: Session, user_id: int, now: datetime | None = None) -> list[str]:
    """Record the user's recent unanswered web/API tips as ignored and learn from them.

    Returns:
        The tip ids recorded now (an empty list when there were none).
    """
    now = now or utcnow()
    answered = select(TipFeedback.tip_id).where(TipFeedback.user_id == user_id)
    tips = session.exec(
        select(TipView.id)
        .where(
            TipView.user_id == user_id,
            col(TipView.reaction).is_(None),
            col(TipView.channel).in_(CHANNELS),
            col(TipView.served_at) <= now - IGNORE_AFTER,
            col(TipView.served_at) >= now - LOOKBACK,
            col(TipView.id).not_in(answered),
        )
        .order_by(col(TipView.served_at).desc())
        .limit(MAX_PER_CALL)
    ).all()
    recorded = []
    for tip_id in tips:
        row = TipFeedback(
            tip_id=tip_id,
            user_id=user_id,
            reaction=IGNORED,
            reward=IGNORED_REWARD,
            idempotency_key=f"ignored-{tip_id}",
            origin=SIGNAL_ORIGIN,
            created_at=now,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another worker recorded it first
            session.rollback()
            continue
        recorded.append(tip_id)
        try:
            learner.apply(session=session, feedback_id=row.id)  # type: ignore[arg-type]
        except Exception:
            session.rollback()
            log.exception("learning from ignored tip %s failed; the outbox job will retry", tip_id)
    return recorded
