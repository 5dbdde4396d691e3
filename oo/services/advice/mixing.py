"""The per-user kind learner's state: load it, decide with it, teach it one reaction.

The model (`oo.recommender.kind_mix.KindMixer`, a LinUCB over kind-by-context features) is stored
like every learner: a ``model_state`` row (policy key `MODEL_KEY`, `oo.recommender.store` bytes,
never pickle), cached in process while the row's ``updates``/``updated_at`` are unchanged. It
learns in the feedback outbox's transaction (`oo.services.learner`), from tips whose logged
features hold `FEATURES_KEY`, i.e. only from decisions it actually made.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import ModelState, TipView
from oo.recommender import LinUCBPolicy, StoreError, dumps, loads
from oo.recommender.kind_mix import KindChoice, KindMixer
from oo.services.advice.picking import ADVICE_SOURCE

log = logging.getLogger("oo.advice.mixing")

MODEL_KEY = "kindmix@1"  # model_state.policy_key
FEATURES_KEY = "kindmix@1"  # key of the mixer's x in tip_view.features
POLICY_NAME, POLICY_VERSION = "kindmix", 1
RECENT_ADVICE = timedelta(hours=3)
CACHE_SIZE = 4096


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


def load(*, session: Session, user_id: int) -> KindMixer:
    """The user's kind model (cached while current; cold when none is stored)."""
    row = _row(session, user_id)
    stamp = (row.updates, row.updated_at) if row else (0, None)
    with _lock:
        hit = _cache.get(user_id)
        if hit is not None and hit[:2] == stamp:
            _cache.move_to_end(user_id)
            return hit[2]
    mixer = _decode(row) if row else KindMixer(seed=user_id)
    with _lock:
        _cache[user_id] = (*stamp, mixer)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return mixer


def advice_recently(*, session: Session, user_id: int, now: datetime) -> bool:
    """Whether the user was shown advice in the last few hours (a context feature)."""
    return (
        session.exec(
            select(TipView.id).where(
                TipView.user_id == user_id,
                TipView.source == ADVICE_SOURCE,
                col(TipView.served_at) >= now - RECENT_ADVICE,
            )
        ).first()
        is not None
    )


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
    cached = load(session=session, user_id=user_id)
    mixer = KindMixer(copy.deepcopy(cached.model))  # scoring threads may hold the cached one
    mixer.learn(x, reward)
    data = dumps(mixer.model)
    if row is None:
        session.add(ModelState(user_id=user_id, policy_key=MODEL_KEY, data=data, updates=1, updated_at=now))
        try:
            session.flush()
        except IntegrityError as exc:
            raise MixConflict from exc
        return
    result = session.execute(
        update(ModelState)
        .where(col(ModelState.id) == row.id, col(ModelState.updates) == row.updates)
        .values(data=data, updates=row.updates + 1, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise MixConflict
