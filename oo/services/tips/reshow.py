"""A reload shows the tip that is on screen, not a new draw (U3).

Opening /tip again, Retry, or a reconnecting tab asks for "the tip"; a fresh pick each time would
shuffle the one suggestion under the user's eyes (the stochastic policies draw) and log a new
decision that nobody made, which skews what the shadows and the off-policy estimates read. So
each process remembers, per user, the last tip it served on the web (`remember`), and a load
within `reshow_seconds` (``OO_TIP_RESHOW_SECONDS``, default 90; 0 turns it off) shows that tip
again with the same reference (`again`) when one indexed query confirms it is still right:

* it is still the user's latest served tip (no other tab, worker, push or API pick came since);
* nobody has reacted to it;
* a task tip's task is still open and not snoozed or dismissed (a Todoist sync may have closed it);
* an advice tip's user still has Advice on.

Anything else — no entry (another worker served it, a restart), too old, or any check failing —
makes a normal pick. A reshow logs nothing and announces nothing: no new decision was made.
The entries hold the tip's text in memory only until they expire; account deletion drops the
user's entry here (`forget`), and on another worker the query can no longer find the deleted
tips, so such an entry is never shown and ages out within `reshow_seconds`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from oo import singletons
from oo.models import Task, TipView, User, UTCDateTime, utcnow
from oo.services.advice import preferences
from oo.services.tips.explain import Recommendation
from oo.settings import get_settings

MAX_ENTRIES = 100_000

_lock = threading.Lock()
_entries: OrderedDict[int, tuple[float, Recommendation, str]] = (
    OrderedDict()
)  # user id -> (monotonic, tip, its ref)

# The user's latest tip, with what decides whether it may be shown again (one indexed lookup).
_LATEST = (
    sa.select(
        col(TipView.id),
        col(TipView.reaction),
        col(Task.id),
        sa.type_coerce(col(Task.completed_at), sa.types.NullType()),
        col(Task.snoozed_until) > sa.bindparam("now", type_=UTCDateTime()),
        col(User.advice_enabled),
    )
    .select_from(TipView)
    .outerjoin(Task, col(Task.id) == col(TipView.task_id))
    .join(User, col(User.id) == col(TipView.user_id))
    .where(col(TipView.user_id) == sa.bindparam("user_id"))
    .order_by(col(TipView.served_at).desc())
    .limit(1)
)


def _ttl() -> float:
    return float(get_settings().tip_reshow_seconds)


def remember(user_id: int, tip: Recommendation, ref: str) -> None:
    """Note the tip just served on the web to ``user_id`` with its reference (an empty tip is forgotten)."""
    if tip.empty or not tip.tip_id or not ref or _ttl() <= 0:
        forget(user_id)
        return
    # What the page shows of it, without the per-feature explanation (kept per user, so small).
    slim = dataclasses.replace(tip, explanation=dataclasses.replace(tip.explanation, features=()))
    with _lock:
        _entries[user_id] = (time.monotonic(), slim, ref)
        _entries.move_to_end(user_id)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget(user_id: int) -> None:
    """Drop the user's entry (account deletion, Undo, tests)."""
    with _lock:
        _entries.pop(user_id, None)


def clear() -> None:
    """Drop every entry (tests)."""
    with _lock:
        _entries.clear()


def recalled(user_id: int) -> tuple[Recommendation, str] | None:
    """The remembered tip while it is younger than the reshow window (no database check)."""
    ttl = _ttl()
    with _lock:
        hit = _entries.get(user_id)
    if hit is None or ttl <= 0 or time.monotonic() - hit[0] > ttl:
        return None
    return hit[1], hit[2]


def still_current(
    session: Session, *, user_id: int, tip: Recommendation, now: datetime | None = None
) -> bool:
    """Whether ``tip`` is the user's latest tip, unanswered, and still fit to show."""
    row = session.connection().execute(_LATEST, {"user_id": user_id, "now": now or utcnow()}).first()
    if row is None:
        return False
    latest, reaction, task_id, completed_at, snoozed, advice_enabled = row
    if latest != tip.tip_id or reaction is not None:
        return False
    if tip.kind == "advice":
        return preferences.effective(advice_enabled)
    return task_id is not None and completed_at is None and not snoozed  # the task may be gone


singletons.on_reset("tips.reshow", clear)
