"""The per-user kind learner's state: load it, decide with it, teach it one reaction.

The model (`oo.recommender.kind_mix.KindMixer`, a LinUCB over kind-by-context features) is stored
like every learner: a ``model_state`` row (policy key `MODEL_KEY`, `oo.recommender.store` bytes,
never pickle), cached in process while the row's ``updates``/``updated_at`` are unchanged. It
learns in the feedback outbox's transaction (`oo.services.learning.learner`), from tips whose logged
features hold `FEATURES_KEY`, i.e. only from decisions it actually made.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import ModelState, TipView
from oo.recommender import LinUCBPolicy, StoreError, dumps_binary, loads
from oo.recommender.kind_mix import KindChoice, KindMixer
from oo.services.platform import jsontext

log = logging.getLogger("oo.advice.mixing")

MODEL_KEY = "kindmix@1"  # model_state.policy_key
FEATURES_KEY = "kindmix@1"  # key of the mixer's x in tip_view.features
POLICY_NAME, POLICY_VERSION = "kindmix", 1
RECENT_ADVICE = timedelta(hours=3)
CACHE_SIZE = 4096
LEARN_ATTEMPTS = 3


class MixConflict(Exception):
    """Another transaction wrote the user's kind model first (the caller retries)."""


class Taught(NamedTuple):
    """What `learn_from_tips_once` did."""

    learned: int  # tips that taught the kind model
    failed: frozenset[str]  # tips whose learning hit an error: nothing of them was consumed


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


def load(*, session: Session, user_id: int, version: tuple[int, datetime | None] | None = None) -> KindMixer:
    """The user's kind model (cached while current; cold when none is stored).

    The row's version is read first (unless given: ``updates``/``updated_at``, ``(0, None)`` for
    no row); its bytes only when the cached model is not that version.
    """
    if version is None:
        row = session.connection().execute(_STAMP, {"user_id": user_id}).first()
        version = (row[0], row[1]) if row else (0, None)
    hit = _cached(user_id, version)
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
    *,
    session: Session,
    user_id: int,
    ctx: Mapping[str, float],
    rng: np.random.Generator,
    version: tuple[int, datetime | None] | None = None,
) -> KindChoice:
    """Draw the kind for this user in this context (exact propensity in the result; ``version``: see `load`)."""
    return load(session=session, user_id=user_id, version=version).choose(ctx, rng)


def learn(*, session: Session, user_id: int, x: Mapping[str, float], reward: float, now: datetime) -> None:
    """Teach the user's kind model one reward inside the caller's transaction (the caller commits).

    Raises:
        MixConflict: Another transaction changed the model meanwhile (the caller retries).
        ValueError: Features that are not the mixer's.
    """
    row = _row(session, user_id)
    mixer = KindMixer(_current(user_id, row).model.learning_copy())  # pickers may hold the cached one
    mixer.learn(x, reward)
    data = dumps_binary(mixer.model)
    version = row.updates + 1 if row else 1
    if row is None:
        session.add(ModelState(user_id=user_id, policy_key=MODEL_KEY, data=data, updates=1, updated_at=now))
        try:
            session.flush()
        except IntegrityError as exc:
            raise MixConflict from exc
    else:  # Core, as the batch path: an ORM update would also move `row` to the new version
        params = {"row_id": row.id, "old": row.updates, "new": version, "data": data, "now": now}
        if session.connection().execute(_WRITE, params).rowcount != 1:
            raise MixConflict
    # The next pick finds the new model by its version. Before the commit is safe: should this
    # transaction roll back, the stored version is not this one, and the next pick decodes the row.
    _keep(user_id, (version, now), mixer)


def learn_logged(
    *, session: Session, user_id: int, tip_id: str, features: str | None, reward: float, now: datetime
) -> bool:
    """Teach the kind model the reward of one tip inside the caller's transaction, consuming its features.

    ``features`` is the tip's ``tip_view.features`` as the caller read them. The kind features are
    removed from the stored copy in the same transaction as the model write (a claim that holds
    only if the stored text is still that copy), so each tip teaches the kind model once, whichever
    path gets there first: the write-behind reaction path, settling, or the feedback outbox.

    Returns:
        True when the model learned; False when no kind was drawn for the tip, or its kind
        features were already consumed (nothing was written).

    Raises:
        MixConflict: Another transaction changed the model meanwhile (roll back and retry).
        ValueError: Features that are not the mixer's.
    """
    x, rest = _kind_of(features)
    if x is None:
        return False
    claim = session.execute(
        update(TipView)
        .where(col(TipView.id) == tip_id, col(TipView.features) == features)
        .values(features=jsontext.dumps(rest))
    )
    if claim.rowcount != 1:  # type: ignore[attr-defined]
        return False
    learn(session=session, user_id=user_id, x=x, reward=reward, now=now)
    return True


def learn_from_tip_once(
    *, session: Session, user_id: int, tip_id: str, reward: float, now: datetime, features: str | None = None
) -> bool:
    """Teach the kind model the reward of one tip now, exactly once, in its own transaction.

    For the write-behind reaction path (`oo.services.learning.hot`), which persists the task
    models later and marks the reaction applied without passing through the outbox's apply step
    (`learn_logged` says how the tip's kind features are consumed).

    ``features``: the tip's ``tip_view.features`` as the caller just read them (the caller has
    checked the tip is the user's), which saves reading the tip again; the claim compares them
    with the stored ones, so a stale copy learns nothing twice.

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
            if not learn_logged(
                session=session, user_id=user_id, tip_id=tip_id, features=text, reward=reward, now=now
            ):
                session.rollback()
                return False
        except MixConflict:
            session.rollback()
            continue
        session.commit()
        return True
    raise MixConflict


_STORED = sa.select(
    col(ModelState.id),
    col(ModelState.user_id),
    col(ModelState.data),
    col(ModelState.updates),
    col(ModelState.updated_at),
).where(
    col(ModelState.policy_key) == MODEL_KEY,
    col(ModelState.user_id).in_(sa.bindparam("users", expanding=True)),
)
_CONSUME = (
    sa.update(TipView)
    .where(col(TipView.id) == sa.bindparam("tip_id"), col(TipView.features) == sa.bindparam("old"))
    .values(features=sa.bindparam("new"))
)
_WRITE = (
    sa.update(ModelState)
    .where(col(ModelState.id) == sa.bindparam("row_id"), col(ModelState.updates) == sa.bindparam("old"))
    .values(data=sa.bindparam("data"), updates=sa.bindparam("new"), updated_at=sa.bindparam("now"))
)


def learn_from_tips_once(
    *, session: Session, tips: list[tuple[int, str, str, float]], now: datetime
) -> Taught:
    """`learn_from_tip_once` for many tips in one transaction: a statement per step, not per tip.

    ``tips``: (user id, tip id, the tip's ``tip_view.features`` as the caller read them, reward),
    in the order they are to be learned. Tips without a kind draw are skipped. Should any claim or
    model version not hold (another transaction got there first), the batch is rolled back and
    each tip goes through `learn_from_tip_once` on its own. Never raises: a tip whose learning
    fails otherwise (the database locked past its timeout, say) is rolled back, logged and named in
    `Taught.failed`, its kind features still in place, so that the caller can leave its reaction
    to the feedback outbox, which teaches it later.
    """
    drawn = [
        (u, t, text, r, x, rest) for u, t, text, r in tips for x, rest in [_kind_of(text)] if x is not None
    ]
    if not drawn:
        return Taught(0, frozenset())
    try:
        mixers, stored = _learn_batch(session, drawn, now)
    except (MixConflict, IntegrityError, ValueError):
        session.rollback()
        outcomes = [(t, _learn_one_logged(session, u, t, r, now)) for u, t, _, r, _, _ in drawn]
        return Taught(sum(o is True for _, o in outcomes), frozenset(t for t, o in outcomes if o is None))
    except Exception:
        session.rollback()
        log.exception(
            "the kind learner could not learn from %d tips; the feedback outbox retries", len(drawn)
        )
        return Taught(0, frozenset(t for _, t, _, _, _, _ in drawn))
    for user_id, mixer in mixers.items():
        _keep(user_id, (stored[user_id].updates + 1 if user_id in stored else 1, now), mixer)
    return Taught(len(drawn), frozenset())


def _learn_batch(
    session: Session,
    drawn: list[tuple[int, str, str, float, dict[str, float], dict[str, object]]],
    now: datetime,
) -> tuple[dict[int, KindMixer], dict[int, Any]]:
    """Claim every tip's kind features and write every user's model, then commit (the batch path)."""
    conn = session.connection()
    claims = [{"tip_id": t, "old": text, "new": jsontext.dumps(rest)} for _, t, text, _, _, rest in drawn]
    stored = {row.user_id: row for row in conn.execute(_STORED, {"users": sorted({d[0] for d in drawn})})}
    mixers: dict[int, KindMixer] = {}
    for user_id, _, _, reward, x, _ in drawn:
        if user_id not in mixers:
            mixers[user_id] = KindMixer(_current(user_id, stored.get(user_id)).model.learning_copy())  # type: ignore[arg-type]
        mixers[user_id].learn(x, reward)
    # Every row ready before the first write: SQLite's write lock is held from the claims to the commit.
    data = {u: dumps_binary(m.model) for u, m in mixers.items()}
    writes = [
        {"row_id": row.id, "old": row.updates, "new": row.updates + 1, "data": data[u], "now": now}
        for u, row in stored.items()
        if u in mixers
    ]
    new = [
        {"user_id": u, "policy_key": MODEL_KEY, "data": data[u], "updates": 1, "updated_at": now}
        for u in mixers
        if u not in stored
    ]
    if conn.execute(_CONSUME, claims).rowcount != len(claims):
        raise MixConflict
    if writes and conn.execute(_WRITE, writes).rowcount != len(writes):
        raise MixConflict
    if new:
        conn.execute(sa.insert(ModelState), new)
    session.commit()
    return mixers, stored


def _learn_one_logged(
    session: Session, user_id: int, tip_id: str, reward: float, now: datetime
) -> bool | None:
    """`learn_from_tip_once`, logged; None when it failed (nothing consumed: the outbox retries)."""
    try:
        return learn_from_tip_once(session=session, user_id=user_id, tip_id=tip_id, reward=reward, now=now)
    except Exception:
        session.rollback()
        log.exception("the kind learner could not learn from tip %s; the feedback outbox retries", tip_id)
        return None


def _kind_of(text: str | None) -> tuple[dict[str, float] | None, dict[str, object]]:
    """The kind features logged with a tip, and the rest of its features (without them)."""
    try:
        xs = jsontext.loads(text or "{}")
    except ValueError:
        return None, {}
    x = xs.pop(FEATURES_KEY, None) if isinstance(xs, dict) else None
    return (x, xs) if isinstance(x, dict) else (None, {})
