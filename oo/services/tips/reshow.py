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
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from oo import singletons
from oo.db import session_scope
from oo.models import Task, TipView, User, UTCDateTime, table, utcnow
from oo.services.advice import preferences
from oo.services.platform.batching import Batcher
from oo.services.tips import source_state
from oo.services.tips.explain import Recommendation
from oo.services.tips.source_state import SourceState
from oo.settings import get_settings

MAX_ENTRIES = 100_000

_lock = threading.Lock()
# user id -> (monotonic, tip, its ref)
_entries: OrderedDict[int, tuple[float, Recommendation, str]] = OrderedDict()

# The remembered tips, each with what decides whether it may be shown again: whether a newer
# tip was served to its user since (an index range on tip_view (user_id, served_at)), its reaction,
# its task's state, and the user's Advice switch. One statement for one user or a batch.
_NEWER = table(TipView).alias("newer")
_TIPS = (
    sa.select(
        col(TipView.id),
        col(TipView.user_id),
        col(TipView.reaction),
        col(Task.id),
        sa.type_coerce(col(Task.completed_at), sa.types.NullType()),
        col(Task.snoozed_until) > sa.bindparam("now", type_=UTCDateTime()),
        col(User.advice_enabled),
        sa.exists().where(
            _NEWER.c.user_id == col(TipView.user_id), _NEWER.c.served_at > col(TipView.served_at)
        ),
    )
    .select_from(TipView)
    .outerjoin(Task, col(Task.id) == col(TipView.task_id))
    .join(User, col(User.id) == col(TipView.user_id))
    .where(col(TipView.id).in_(sa.bindparam("tip_ids", expanding=True)))
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
    return user_id in current(session, {user_id: tip}, now)


def current(session: Session, tips: Mapping[int, Recommendation], now: datetime | None = None) -> set[int]:
    """The users (of ``tips``, user id -> remembered tip) whose tip is `still_current`: one query."""
    ids = {tip.tip_id: uid for uid, tip in tips.items() if tip.tip_id}
    if not ids:
        return set()
    rows = session.connection().execute(_TIPS, {"tip_ids": list(ids), "now": now or utcnow()})
    out = set()
    for tip_id, owner, reaction, task_id, completed_at, snoozed, advice_enabled, newer in rows:
        uid = ids.get(tip_id)
        if uid != owner or newer or reaction is not None:
            continue
        if tips[uid].kind == "advice":
            fit = preferences.effective(advice_enabled)
        else:  # the task may be gone, done or snoozed since
            fit = task_id is not None and completed_at is None and not snoozed
        if fit:
            out.add(uid)
    return out


async def check(user_id: int, tip: Recommendation) -> tuple[bool, SourceState, bool]:
    """Whether ``tip`` is `still_current`, with the user's source state and Todoist staleness.

    Checks that arrive while one is running wait for it and then go together (`Batcher`): one
    thread hop, one database session and two statements for a batch of up to 1,000 users.
    """
    return await _checks.submit((user_id, tip))


def _check_batch(items: list[tuple[int, Recommendation]]) -> list[tuple[bool, SourceState, bool]]:
    found = _check_many(dict(items))  # one item per user in a batch (the batcher's key)
    return [found[uid] for uid, _ in items]


def _check_many(tips: dict[int, Recommendation]) -> dict[int, tuple[bool, SourceState, bool]]:
    with session_scope() as session:
        sources = source_state.read_many(session, list(tips))
        fit = current(session, tips)
    return {uid: (uid in fit, *sources[uid]) for uid in tips}


_checks: Batcher[tuple[int, Recommendation], tuple[bool, SourceState, bool]] = Batcher(
    "reshow", _check_batch, key=lambda item: item[0], limit=1000
)


singletons.on_reset("tips.reshow", clear)
