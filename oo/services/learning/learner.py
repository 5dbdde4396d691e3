"""Per-user learner state: load lazily, cache in process, learn from one reaction, persist, reset.

The database is the source of truth (``model_state``: `oo.recommender.store` bytes, versioned
JSON, never pickle). Each process keeps an LRU cache of loaded policies; a cached model is
reused only while its row's ``updates`` and ``updated_at`` are unchanged, so a model taught by
another worker is reloaded on the next request.

Learning is the apply step of the feedback outbox (`oo.services.tips.feedback` writes the
``tip_feedback`` row with ``applied_at`` NULL first). `apply` claims the row, teaches every
learning policy of the registry (active and shadow) the reward on the features of the served
tip, writes each model with an optimistic check on ``updates`` and marks the row applied, all
in one transaction: a crash replays the update, and two workers never apply it twice.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from oo import singletons
from oo.models import ModelState, TipFeedback, TipView, utcnow
from oo.recommender import Policy, StoreError, build_policy, dumps_binary, loads
from oo.services.advice import mixing
from oo.services.learning import stats as learner_stats
from oo.services.learning.policies import PolicyRef, serving_set
from oo.services.learning.stats import PolicyStats
from oo.services.platform import jsontext
from oo.settings import get_settings

log = logging.getLogger("oo.learner")

APPLY_ATTEMPTS = 3
_RANDOM = build_policy("random", 1)


@dataclass
class _Entry:
    policy: Policy
    updates: int
    updated_at: datetime | None  # None: never stored (a cold model)


@dataclass(frozen=True)
class Pending:
    """A reaction learned in memory (`oo.services.learner_hot`) but not yet persisted."""

    feedback_id: int
    x: dict[str, float]
    reward: float


class _Conflict(Exception):
    """Another transaction changed a model or applied the feedback first."""


class ModelCache:
    """A thread-safe LRU of loaded policies keyed by (user id, policy key)."""

    def __init__(self, size: int | None = None) -> None:
        """An empty cache holding at most ``size`` models (None: ``OO_MODEL_CACHE_SIZE``)."""
        self._size = size
        self._items: OrderedDict[tuple[int, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """How many models it keeps."""
        return self._size if self._size is not None else get_settings().model_cache_size

    def get(self, key: tuple[int, str]) -> _Entry | None:
        """The entry, marked as recently used."""
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: tuple[int, str], entry: _Entry) -> None:
        """Insert or replace, evicting the least recently used beyond ``size``."""
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.size:  # evicting a user's model costs a reload at the next pick
                self._items.popitem(last=False)

    def drop_user(self, user_id: int, policy_key: str | None = None) -> None:
        """Forget one user's models (or one of them)."""
        with self._lock:
            for key in [k for k in self._items if k[0] == user_id and policy_key in (None, k[1])]:
                del self._items[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


cache = ModelCache()
# Write-behind state (`oo.services.learner_hot`): reactions learned into the cached models but not
# yet written. Invariant: a cached model == its stored version + its pending reactions, in order.
hot_lock = threading.RLock()
pending: dict[tuple[int, str], list[Pending]] = {}


def with_pending(key: tuple[int, str], policy: Policy) -> Policy:
    """``policy`` (as stored) plus the key's pending reactions; a copy when there are any."""
    items = pending.get(key)
    if not items:
        return policy
    policy = policy.learning_copy()
    for item in items:
        try:
            policy.learn(item.x, item.reward)
        except ValueError as exc:
            log.error("%s cannot replay feedback %s: %s", key[1], item.feedback_id, exc)
    return policy


_VERSIONS = select(ModelState.policy_key, ModelState.updates, ModelState.updated_at).where(
    ModelState.user_id == sa.bindparam("user_id")
)


def random_policy() -> Policy:
    """The process-wide Random policy (stateless: the baseline and the fallback)."""
    return _RANDOM


def _fresh(ref: PolicyRef, user_id: int) -> Policy:
    return build_policy(ref.name, ref.version, ref.params, seed=user_id)


def _decode(row: ModelState, ref: PolicyRef) -> Policy:
    try:
        policy = loads(row.data)
    except StoreError as exc:
        # An unreadable model cannot be used; the user gets a cold model, which the next
        # reaction overwrites. Logged as an error: it means a bug or a tampered row.
        log.error("model_state %s of user %s is unreadable (%s); starting cold", ref.key, row.user_id, exc)
        return _fresh(ref, row.user_id)
    if policy.key != ref.key:
        log.error("model_state %s of user %s holds %s; starting cold", ref.key, row.user_id, policy.key)
        return _fresh(ref, row.user_id)
    return policy


def _rows(session: Session, user_id: int, keys: list[str]) -> dict[str, ModelState]:
    if not keys:
        return {}
    query = select(ModelState).where(ModelState.user_id == user_id, col(ModelState.policy_key).in_(keys))
    return {r.policy_key: r for r in session.exec(query).all()}


def get_models(
    *,
    session: Session,
    user_id: int,
    refs: Sequence[PolicyRef],
    versions: Mapping[str, tuple[int, datetime | None]] | None = None,
) -> dict[str, Policy]:
    """The user's policies for ``refs``: cached when current, else loaded, else cold.

    One small query checks the versions of every cached model (``versions``: already read in this
    transaction, by policy key); only stale or missing ones are read and decoded. Random is
    stateless and shared.
    """
    learning = [r for r in refs if r.learns]
    models: dict[str, Policy] = {r.key: _RANDOM for r in refs if not r.learns}
    if not learning:
        return models
    if versions is None:
        versions = {k: (u, t) for k, u, t in session.connection().execute(_VERSIONS, {"user_id": user_id})}
    stale = []
    for ref in learning:
        entry = cache.get((user_id, ref.key))
        stored = versions.get(ref.key, (0, None))
        if entry is not None and (entry.updates, entry.updated_at) == stored:
            models[ref.key] = entry.policy
        else:
            stale.append(ref)
    if stale:
        # Only refs with a stored row are read; the others (a new user's) start cold at once.
        found = _rows(session, user_id, [r.key for r in stale if r.key in versions])
        for ref in stale:
            row = found.get(ref.key)
            policy = _decode(row, ref) if row else _fresh(ref, user_id)
            with hot_lock:  # the pending list must not change between the replay and the put
                policy = with_pending((user_id, ref.key), policy)
                entry = _Entry(policy, row.updates, row.updated_at) if row else _Entry(policy, 0, None)
                cache.put((user_id, ref.key), entry)
            models[ref.key] = policy
    return models


def served_features(tip: TipView) -> dict[str, dict[str, float]]:
    """The served task's features per encoder, as logged in ``tip_view.features``."""
    return logged_features(tip.features)


def logged_features(text: str | None) -> dict[str, dict[str, float]]:
    """``tip_view.features`` (JSON text) as features per encoder; {} when unreadable."""
    try:
        data = jsontext.loads(text or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _working_copy(user_id: int, ref: PolicyRef, row: ModelState | None) -> Policy:
    """A private copy to learn on: scoring threads may still hold the cached object."""
    entry = cache.get((user_id, ref.key))
    stored = (row.updates, row.updated_at) if row else (0, None)
    if (
        entry is not None
        and (entry.updates, entry.updated_at) == stored
        and not pending.get((user_id, ref.key))
    ):
        return entry.policy.learning_copy()
    return _decode(row, ref) if row else _fresh(ref, user_id)


def _write(
    session: Session, user_id: int, ref: PolicyRef, row: ModelState | None, data: bytes, now: datetime
) -> int:
    if row is None:
        session.add(ModelState(user_id=user_id, policy_key=ref.key, data=data, updates=1, updated_at=now))
        try:
            session.flush()
        except IntegrityError as exc:
            raise _Conflict from exc
        return 1
    version = row.updates + 1  # read first: the ORM update below also refreshes `row` in the session
    result = session.exec(
        update(ModelState)
        .where(col(ModelState.id) == row.id, col(ModelState.updates) == row.updates)
        .values(data=data, updates=version, updated_at=now)
    )
    if result.rowcount != 1:
        raise _Conflict
    return version


def _apply_once(session: Session, feedback_id: int) -> bool:
    fb = session.get(TipFeedback, feedback_id, populate_existing=True)
    if fb is None or fb.applied_at is not None:
        return False
    tip = session.get(TipView, fb.tip_id)
    xs = served_features(tip) if tip else {}
    refs = [r for r in serving_set(session=session).all if r.learns and r.encoder in xs]
    now = utcnow()
    claim = session.exec(
        update(TipFeedback)
        .where(col(TipFeedback.id) == feedback_id, col(TipFeedback.applied_at).is_(None))
        .values(applied_at=now)
    )
    if claim.rowcount != 1:
        session.rollback()
        return False
    learned: dict[tuple[int, str], _Entry] = {}
    for ref in refs:
        row = session.exec(
            select(ModelState).where(ModelState.user_id == fb.user_id, ModelState.policy_key == ref.key),
            execution_options={"populate_existing": True},
        ).first()
        policy = _working_copy(fb.user_id, ref, row)
        try:
            policy.learn(xs[ref.encoder], fb.reward)
        except ValueError as exc:
            log.error("%s cannot learn from tip %s: %s", ref.key, fb.tip_id, exc)
            continue
        updates = _write(session, fb.user_id, ref, row, dumps_binary(policy), now)
        learned[(fb.user_id, ref.key)] = _Entry(policy, updates, now)
    _learn_kind(session, fb, tip, now)
    session.commit()
    with hot_lock:
        for key, entry in learned.items():
            items = [p for p in pending.get(key, []) if p.feedback_id != feedback_id]
            pending[key] = items
            cache.put(key, _Entry(with_pending(key, entry.policy), entry.updates, entry.updated_at))
    return True


def _learn_kind(session: Session, fb: TipFeedback, tip: TipView | None, now: datetime) -> None:
    """Teach the task-or-advice learner too, once per tip, when it made the decision behind the tip."""
    if tip is None:
        return
    try:
        mixing.learn_logged(
            session=session,
            user_id=fb.user_id,
            tip_id=tip.id,
            features=tip.features,
            reward=fb.reward,
            now=now,
        )
    except mixing.MixConflict as exc:
        raise _Conflict from exc
    except ValueError as exc:
        log.error("the kind learner cannot learn from tip %s: %s", fb.tip_id, exc)


def apply(*, session: Session, feedback_id: int) -> bool:
    """Teach the learners one recorded reaction (once); True if this call applied it.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: On a database failure (the row stays pending).
    """
    for _ in range(APPLY_ATTEMPTS):
        try:
            return _apply_once(session, feedback_id)
        except _Conflict:
            session.rollback()
    log.warning(
        "feedback %s not applied after %s conflicts; the outbox job retries", feedback_id, APPLY_ATTEMPTS
    )
    return False


def apply_pending(
    *, session: Session, older_than: timedelta = timedelta(seconds=30), limit: int = 500
) -> int:
    """Outbox job: apply reactions left pending (a crash between recording and learning)."""
    cutoff = utcnow() - older_than
    ids = session.exec(
        select(TipFeedback.id)
        .where(col(TipFeedback.applied_at).is_(None), col(TipFeedback.created_at) < cutoff)
        .order_by(col(TipFeedback.id))
        .limit(limit)
    ).all()
    applied = 0
    for feedback_id in ids:
        assert feedback_id is not None  # a stored row has its id
        try:
            applied += apply(session=session, feedback_id=feedback_id)
        except Exception:
            session.rollback()
            log.exception("re-applying feedback %s failed", feedback_id)
    if applied:
        log.info("outbox: applied %s pending reactions", applied)
    return applied


def reset(*, session: Session, user_id: int, policy_key: str | None = None) -> int:
    """Reset the user's bandit (every policy, or one): the next pick starts cold.

    Returns:
        How many stored models were deleted.
    """
    query = delete(ModelState).where(col(ModelState.user_id) == user_id)
    if policy_key is not None:
        query = query.where(col(ModelState.policy_key) == policy_key)
    with hot_lock:
        keys = [k for k in pending if k[0] == user_id and policy_key in (None, k[1])]
        ids = sorted({p.feedback_id for k in keys for p in pending[k]})
    result = session.exec(query)
    if ids:  # reactions learned in memory only: reset discards them with the model they were in
        session.exec(
            update(TipFeedback)
            .where(col(TipFeedback.id).in_(ids), col(TipFeedback.applied_at).is_(None))
            .values(applied_at=utcnow())
        )
    session.commit()
    forget_user(user_id, policy_key)
    return int(result.rowcount or 0)


def forget_user(user_id: int, policy_key: str | None = None) -> None:
    """Drop the user's cached models and pending reactions in this process (reset, deletion), then tell `forgetting`."""
    with hot_lock:
        for key in [k for k in pending if k[0] == user_id and policy_key in (None, k[1])]:
            del pending[key]
        cache.drop_user(user_id, policy_key)
    for tell in forgetting:
        tell(user_id, policy_key)


forgetting: list[Callable[[int, str | None], None]] = []  # other processes' caches (the tip engine)


def stats(*, session: Session, user_id: int | None = None) -> list[PolicyStats]:
    """Per-policy numbers (served, rewards, shadow agreement, models); see `learner_stats`."""
    return learner_stats.stats(session=session, user_id=user_id)


singletons.on_reset("learner.cache", cache.clear)
singletons.on_reset("learner.pending", pending.clear)
