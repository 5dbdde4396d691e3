"""Learner models hot in memory, persisted write-behind (the reaction path of /tip).

A reaction on /tip is taught to the user's cached models at once (`learn_now`: a copy of each
model learns and replaces the cached one, so a concurrent pick never sees half an update), and
remembered as *pending* (`oo.services.learning.learner.pending`). `flush`, run every `FLUSH_SECONDS` by
the `flusher` lifespan task and at shutdown, writes each user's changed models in the compact
binary format (`oo.recommender.dumps_binary`) and marks exactly their reactions applied, in one
transaction per user, with the same optimistic version check as the synchronous path.

Nothing is lost: the ``tip_feedback`` row was committed with ``applied_at`` NULL before the model
learned, so after a crash the start-up outbox replay (`oo.services.learning.learner.apply_pending`)
teaches the stored models what the memory knew. Nothing is learned twice: a flush claims its
reactions (``applied_at IS NULL``) and writes the models only if every claim and every model
version still holds; otherwise (another worker flushed the same user, the outbox applied a
reaction) it rolls back, forgets what is already applied, reloads from the database and replays
the rest at the next flush. Other workers see the new model at their next pick (the version
check in `oo.services.learning.learner.get_models`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import update
from sqlmodel import Session, col, select

from oo import singletons
from oo.db import session_scope
from oo.models import ModelState, TipFeedback, utcnow
from oo.recommender import dumps_binary
from oo.services.learning import learner
from oo.services.learning.learner import Pending, _Entry, _write, cache, hot_lock, pending
from oo.services.learning.policies import serving_set

log = logging.getLogger("oo.learner_hot")

FLUSH_SECONDS = 0.25
_dirty: set[int] = set()
singletons.on_reset("learning.hot", _dirty.clear)


_USERS_VERSIONS = select(
    ModelState.user_id, ModelState.policy_key, ModelState.updates, ModelState.updated_at
).where(col(ModelState.user_id).in_(sa.bindparam("users", expanding=True)))


def versions_of(
    session: Session, user_ids: Collection[int]
) -> dict[int, dict[str, tuple[int, datetime | None]]]:
    """Every stored model's version of several users, by user and policy key, in one statement.

    What `learner.get_models` takes as ``versions`` (a user without a stored model maps to ``{}``).
    """
    out: dict[int, dict[str, tuple[int, datetime | None]]] = {u: {} for u in user_ids}
    if out:
        for user_id, key, updates, at in session.connection().execute(
            _USERS_VERSIONS, {"users": sorted(out)}
        ):
            out[user_id][key] = (updates, at)
    return out


def learn_now(
    *,
    session: Session,
    user_id: int,
    feedback_id: int,
    reward: float,
    xs: dict[str, dict[str, float]],
    versions: Mapping[str, tuple[int, datetime | None]] | None = None,
) -> int:
    """Teach the user's cached models one recorded reaction now; persisted by the next `flush`.

    ``versions``: the user's stored model versions, when the caller read them (`versions_of`,
    one statement for a batch of users); else `learner.get_models` reads them.

    Returns:
        How many models learned it.
    """
    refs = [r for r in serving_set(session=session).all if r.learns and r.encoder in xs]
    learner.get_models(session=session, user_id=user_id, refs=refs, versions=versions)  # stored + pending
    learned = 0
    with hot_lock:
        for ref in refs:
            key = (user_id, ref.key)
            entry = cache.get(key)
            if entry is None:  # evicted meanwhile: the replay at the next load teaches it
                pending.setdefault(key, []).append(Pending(feedback_id, xs[ref.encoder], reward))
                continue
            policy = entry.policy.learning_copy()
            try:
                policy.learn(xs[ref.encoder], reward)
            except ValueError as exc:
                log.error("%s cannot learn from feedback %s: %s", ref.key, feedback_id, exc)
                continue
            pending.setdefault(key, []).append(Pending(feedback_id, xs[ref.encoder], reward))
            cache.put(key, _Entry(policy, entry.updates, entry.updated_at))
            learned += 1
        _dirty.add(user_id)
    return learned


def _forget_applied(session: Session, user_id: int, ids: list[int]) -> None:
    """After a failed flush: drop pending reactions applied (or deleted) elsewhere; reload later."""
    open_ids = set(
        session.exec(
            select(TipFeedback.id).where(col(TipFeedback.id).in_(ids), col(TipFeedback.applied_at).is_(None))
        ).all()
    )
    with hot_lock:
        for key in [k for k in pending if k[0] == user_id]:
            pending[key] = [p for p in pending[key] if p.feedback_id in open_ids]
            if not pending[key]:
                del pending[key]
        cache.drop_user(user_id)  # the next load is the stored model + what is still pending
        if any(k[0] == user_id for k in pending):
            _dirty.add(user_id)


def _flush_user(user_id: int) -> int:
    with session_scope() as session:
        with hot_lock:
            keys = {k[1] for k, items in pending.items() if k[0] == user_id and items}
        refs = [r for r in serving_set(session=session).all if r.key in keys]
        learner.get_models(session=session, user_id=user_id, refs=refs)
        with hot_lock:
            snap = [(k, cache.get(k), list(pending.get(k, []))) for k in ((user_id, r.key) for r in refs)]
            orphans = [k for k in pending if k[0] == user_id and k[1] not in {r.key for r in refs}]
        snap = [(k, e, items) for k, e, items in snap if e is not None and items]
        entries: list[tuple[tuple[int, str], _Entry, list[Pending]]] = [(k, e, i) for k, e, i in snap if e]
        ids = sorted({p.feedback_id for _, _, items in entries for p in items})
        if not ids:
            return 0
        now = utcnow()
        claim = session.exec(
            update(TipFeedback)
            .where(col(TipFeedback.id).in_(ids), col(TipFeedback.applied_at).is_(None))
            .values(applied_at=now)
        )
        if claim.rowcount != len(ids):
            session.rollback()
            _forget_applied(session, user_id, ids)
            return 0
        rows = {
            r.policy_key: r
            for r in session.exec(
                select(ModelState).where(ModelState.user_id == user_id),
                execution_options={"populate_existing": True},
            ).all()
        }
        versions = {}
        try:
            for key, entry, _ in entries:
                row = rows.get(key[1])
                stored = (row.updates, row.updated_at) if row else (0, None)
                if stored != (entry.updates, entry.updated_at):
                    raise learner._Conflict
                ref = next(r for r in refs if r.key == key[1])
                versions[key] = _write(session, user_id, ref, row, dumps_binary(entry.policy), now)
            session.commit()
        except learner._Conflict:
            session.rollback()
            _forget_applied(session, user_id, ids)
            return 0
    _settle(entries, versions, now)
    with hot_lock:
        for key in orphans:  # a policy left the serving set: the outbox teaches its stored model
            pending.pop(key, None)
    return len(ids)


_VERSIONS_OF = sa.select(
    col(ModelState.id),
    col(ModelState.user_id),
    col(ModelState.policy_key),
    col(ModelState.updates),
    col(ModelState.updated_at),
).where(col(ModelState.user_id).in_(sa.bindparam("users", expanding=True)))
_CLAIM = (
    sa.update(TipFeedback)
    .where(
        col(TipFeedback.id).in_(sa.bindparam("ids", expanding=True)), col(TipFeedback.applied_at).is_(None)
    )
    .values(applied_at=sa.bindparam("now"))
)
_UPDATE_MODEL = (
    sa.update(ModelState)
    .where(col(ModelState.id) == sa.bindparam("row_id"), col(ModelState.updates) == sa.bindparam("old"))
    .values(data=sa.bindparam("data"), updates=sa.bindparam("new"), updated_at=sa.bindparam("now"))
)
_INSERT_MODEL = sa.insert(ModelState)

Snap = tuple[tuple[int, str], _Entry, list[Pending]]


def _snapshot(users: list[int], learning: set[str]) -> dict[int, list[Snap] | None]:
    """Per user, the cached models with pending reactions (None: some model is not cached)."""
    out: dict[int, list[Snap] | None] = {}
    wanted = set(users)
    with hot_lock:
        for key, items in pending.items():
            uid = key[0]
            if uid not in wanted or not items or out.get(uid, []) is None:
                continue
            entry = cache.get(key)
            if entry is None or key[1] not in learning:
                out[uid] = None
            else:
                out.setdefault(uid, []).append((key, entry, list(items)))  # type: ignore[union-attr]
    return out


def _flush_batch(users: list[int]) -> tuple[int, list[int]]:
    """Every user whose cached models match the stored versions, in one transaction.

    Returns:
        How many reactions were persisted, and the users left for the careful per-user path
        (a model not cached, a stored version that moved on, a claim that failed).
    """
    with session_scope() as session:
        learning = {r.key for r in serving_set(session=session).all if r.learns}
        conn = session.connection()
        stored = {(u, k): (i, n, t) for i, u, k, n, t in conn.execute(_VERSIONS_OF, {"users": users})}
        fast: list[Snap] = []
        slow: list[int] = []
        for uid, snaps in _snapshot(users, learning).items():
            if snaps is not None and all(
                stored.get(k, (None, 0, None))[1:] == (e.updates, e.updated_at) for k, e, _ in snaps
            ):
                fast.extend(snaps)
            else:
                slow.append(uid)
        ids = sorted({p.feedback_id for _, _, items in fast for p in items})
        if not ids:
            return 0, slow
        now = utcnow()
        # The models' bytes before the first write: SQLite's write lock is held from the claim to the commit.
        updates, inserts = _model_rows(fast, stored, now)
        if conn.execute(_CLAIM, {"ids": ids, "now": now}).rowcount != len(ids):
            session.rollback()  # the outbox (or a deletion) got some first: sort it out user by user
            return 0, sorted({k[0] for k, _, _ in fast} | set(slow))
        # One executemany for every model: each row matches its stored version or the batch is off.
        if updates and conn.execute(_UPDATE_MODEL, updates).rowcount != len(updates):
            session.rollback()
            return 0, sorted({k[0] for k, _, _ in fast} | set(slow))
        if inserts:
            conn.execute(_INSERT_MODEL, inserts)
        session.commit()
    _settle(fast, {k: stored[k][1] + 1 if k in stored else 1 for k, _, _ in fast}, now)
    return len(ids), slow


def _model_rows(
    snaps: list[Snap], stored: dict[tuple[int, str], tuple[Any, int, Any]], now: datetime
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The model updates (checked against the stored version) and inserts of a batch flush."""
    updates, inserts = [], []
    for key, entry, _ in snaps:
        data = dumps_binary(entry.policy)
        if key in stored:
            row_id, old, _ = stored[key]
            updates.append({"row_id": row_id, "old": old, "new": old + 1, "data": data, "now": now})
        else:
            inserts.append(
                {"user_id": key[0], "policy_key": key[1], "data": data, "updates": 1, "updated_at": now}
            )
    return updates, inserts


def _settle(flushed: list[Snap], versions: dict[tuple[int, str], int], now: datetime) -> None:
    """After a commit: the cached models carry their new versions; what was written is no longer pending."""
    with hot_lock:
        for key, entry, items in flushed:
            done = {p.feedback_id for p in items}
            rest = [p for p in pending.get(key, []) if p.feedback_id not in done]
            current = cache.get(key)
            if current is not None and (current.updates, current.updated_at) == (
                entry.updates,
                entry.updated_at,
            ):
                cache.put(key, _Entry(current.policy, versions[key], now))  # stored + what came since
            else:
                cache.drop_user(key[0], key[1])
            if rest:
                pending[key] = rest
                _dirty.add(key[0])
            else:
                pending.pop(key, None)


def flush() -> int:
    """Persist every changed model; returns how many reactions.

    One transaction for every user whose cached models are current (the common case), then the
    careful path (reload, replay, per-user transaction) for the rest.
    """
    with hot_lock:
        users = sorted(_dirty)
        _dirty.clear()
    if not users:
        return 0
    try:
        done, slow = _flush_batch(users)
    except Exception:
        log.exception("writing models in one batch failed; falling back to one user at a time")
        done, slow = 0, users
    for user_id in slow:
        try:
            done += _flush_user(user_id)
        except Exception:
            log.exception("writing the models of user %s failed; retrying at the next flush", user_id)
            with hot_lock:
                _dirty.add(user_id)
    return done


def pending_count() -> int:
    """Reactions learned in memory and not yet persisted (health, tests)."""
    with hot_lock:
        return sum(len(v) for v in pending.values())


@asynccontextmanager
async def flusher(interval: float = FLUSH_SECONDS) -> AsyncIterator[None]:
    """Lifespan task: flush every ``interval`` seconds from a worker thread, and once at shutdown."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if _dirty:
                await asyncio.to_thread(flush)

    task = asyncio.create_task(loop(), name="learner-flush")
    try:
        yield
    finally:
        stop.set()
        await task
        await asyncio.to_thread(flush)
