"""The per-user kind learner's state: load it, decide with it, teach it one reaction.

The model (`oo.recommender.kind_mix.KindMixer`, a LinUCB over kind-by-context features) is stored
like every learner: a ``model_state`` row (policy key `MODEL_KEY`, `oo.recommender.store` bytes,
never pickle), cached in process while the row's ``updates``/``updated_at`` are unchanged. It
learns in the feedback outbox's transaction (`oo.services.learning.learner`), from tips whose logged
features hold `FEATURES_KEY`, i.e. only from decisions it actually made.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import ModelState, TipView
from oo.recommender import LinUCBPolicy, StoreError, dumps, loads
from oo.recommender.kind_mix import KindChoice, KindMixer

log = logging.getLogger("oo.advice.mixing")

MODEL_KEY = "kindmix@1"  # model_state.policy_key
FEATURES_KEY = "kindmix@1"  # key of the mixer's x in tip_view.features
POLICY_NAME, POLICY_VERSION = "kindmix", 1
RECENT_ADVICE = timedelta(hours=3)
CACHE_SIZE = 4096
LEARN_ATTEMPTS = 3


class MixConflict(Exception):
    """Another transaction wrote the user's kind model first (the caller retries)."""


_lock = threading.Lock()
_cache: OrderedDict[int, tuple[int, datetime | None, KindMixer]] = OrderedDict()
singletons.on_reset("advice.kind_models", _cache.clear)


def _decode(row: ModelState) -> KindMixer:
    try:
        model = loads(row.data)
        if not isinstance(model, LinUCBPolicy):
            raise StoreError("not a LinUCB model")
        return KindMixer(model)
    except (StoreError, ValueError) as exc:
        log.error("kind model of user %s is unreadable (%s); starting cold", row.user_id, exc)
        return KindMixer(seed=row.user_id)


def _row(session: Session, user_id: int) -> ModelState | None:
    return session.exec(
        select(ModelState).where(ModelState.user_id == user_id, ModelState.policy_key == MODEL_KEY),
        execution_options={"populate_existing": True},
    ).first()


# The stored model's version, without its bytes (one small read on every pick while cached).
_STAMP = sa.select(col(ModelState.updates), col(ModelState.updated_at)).where(
    col(ModelState.user_id) == sa.bindparam("user_id"), col(ModelState.policy_key) == MODEL_KEY
)


def load(*, session: Session, user_id: int) -> KindMixer:
    """The user's kind model (cached while current; cold when none is stored).

    The row's version is read first; its bytes only when the cached model is not that version.
    """
    row = session.connection().execute(_STAMP, {"user_id": user_id}).first()
    hit = _cached(user_id, (row[0], row[1]) if row else (0, None))
    return hit if hit is not None else _current(user_id, _row(session, user_id))


def _cached(user_id: int, stamp: tuple[int, datetime | None]) -> KindMixer | None:
    with _lock:
        hit = _cache.get(user_id)
        if hit is not None and hit[:2] == stamp:
            _cache.move_to_end(user_id)
            return hit[2]
    return None


def _current(user_id: int, row: ModelState | None) -> KindMixer:
    """The model of ``row``: the cached one while the row's version is unchanged, else decoded."""
    stamp = (row.updates, row.updated_at) if row else (0, None)
    hit = _cached(user_id, stamp)
    if hit is not None:
        return hit
    mixer = _decode(row) if row else KindMixer(seed=user_id)
    _keep(user_id, stamp, mixer)
    return mixer


def _keep(user_id: int, stamp: tuple[int, datetime | None], mixer: KindMixer) -> None:
    with _lock:
        _cache[user_id] = (*stamp, mixer)
        _cache.move_to_end(user_id)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def decide(
    *, session: Session, user_id: int, ctx: Mapping[str, float], rng: np.random.Generator
) -> KindChoice:
    """Draw the kind for this user in this context (exact propensity in the result)."""
    return load(session=session, user_id=user_id).choose(ctx, rng)


def learn(*, session: Session, user_id: int, x: Mapping[str, float], reward: float, now: datetime) -> None:
    """Teach the user's kind model one reward inside the caller's transaction (the caller commits).

    Raises:
        MixConflict: Another transaction changed the model meanwhile (the caller retries).
        ValueError: Features that are not the mixer's.
    """
    row = _row(session, user_id)
    mixer = KindMixer(copy.deepcopy(_current(user_id, row).model))  # pickers may hold the cached one
    mixer.learn(x, reward)
    data = dumps(mixer.model)
    if row is None:
        session.add(ModelState(user_id=user_id, policy_key=MODEL_KEY, data=data, updates=1, updated_at=now))
        try:
            session.flush()
        except IntegrityError as exc:
            raise MixConflict from exc
    else:
        result = session.execute(
            update(ModelState)
            .where(col(ModelState.id) == row.id, col(ModelState.updates) == row.updates)
            .values(data=data, updates=row.updates + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise MixConflict
    # The next pick finds the new model by its version. Before the commit is safe: should this
    # transaction roll back, the stored version is not this one, and the next pick decodes the row.
    _keep(user_id, (row.updates + 1 if row else 1, now), mixer)


def learn_from_tip_once(
    *, session: Session, user_id: int, tip_id: str, reward: float, now: datetime, features: str | None = None
) -> bool:
    """Teach the kind model the reward of one tip now, exactly once, in its own transaction.

    For the write-behind reaction path (`oo.services.learning.hot`), which persists the task
    models later and marks the reaction applied without passing through the outbox's apply step.
    The tip's logged kind features are consumed in the same transaction as the model write (the
    key is removed from ``tip_view.features``), so no later replay teaches them again.

    ``features``: the tip's ``tip_view.features`` as the caller just read them (the caller has
    checked the tip is the user's), which saves reading the tip again; the claim below compares
    them with the stored ones, so a stale copy learns nothing twice.

    Returns:
        True when the kind model learned (False: no kind decision behind this tip, or already learned).

    Raises:
        MixConflict: Another transaction kept changing the model (after `LEARN_ATTEMPTS`).
    """
    known = features
    for _ in range(LEARN_ATTEMPTS):
        if known is None:
            tip = session.get(TipView, tip_id, populate_existing=True)
            if tip is None or tip.user_id != user_id:
                return False
            known = tip.features or "{}"
        text, known = known, None  # a retry reads the tip again
        try:
            xs = json.loads(text)
        except ValueError:
            return False
        x = xs.pop(FEATURES_KEY, None) if isinstance(xs, dict) else None
        if not isinstance(x, dict):
            return False
        claim = session.execute(
            update(TipView)
            .where(col(TipView.id) == tip_id, col(TipView.features) == text)
            .values(features=json.dumps(xs))
        )
        if claim.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return False
        try:
            learn(session=session, user_id=user_id, x=x, reward=reward, now=now)
        except MixConflict:
            session.rollback()
            continue
        session.commit()
        return True
    raise MixConflict
