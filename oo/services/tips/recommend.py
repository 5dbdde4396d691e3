"""The one recommendation contract (R1): ``recommend(user, context) -> Recommendation``.

Every pick goes through `recommend`: /tip, push and ``POST /api/v1/recommend``. One call:

1. reads the user's open tasks (not completed, not snoozed or dismissed) as a `TaskBatch`;
2. encodes them once per encoder the serving set needs (`FeatureMatrix`, batch path);
3. scores the active policy on a small thread pool and every shadow policy meanwhile; the
   learner (model load, pick, explanation) must finish within `BUDGET_SECONDS`, or if it
   raises or is late, Random picks instead
   (``tip_view.fallback`` true, a ``fallback`` row in ``tip_score``, a warning in the log) —
   the user never sees an error. The active policy picks with `Policy.choose`, which returns
   the propensity: the exact probability it had of choosing the served task (stochastic
   policies sample; deterministic ones have 1, or 1/k among k tied best). Each shadow computes
   its whole pick distribution, so its probability of the *served* task is logged too;
4. logs the served tip (``tip_view``: features per encoder, policy, score, explanation,
   latency, propensity) and one ``tip_score`` row per policy scored (its own pick, features,
   score, latency, ``served_probability``), in one short transaction. Those two columns are what
   off-policy evaluation (`oo.recommender.ope`) needs.

Shadow picks are logged, never served. A shadow that fails or is late is skipped with a
warning. The served task's features are logged under every encoder the learners use, so every
learning policy (active or shadow) can learn from the reaction to it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, tzinfo
from time import perf_counter
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col

from oo.bus import Event, TipServed
from oo.models import ModelState, User, utcnow
from oo.recommender import Context, FeatureMatrix, LinUCBPolicy, Policy, TaskBatch, get_encoder
from oo.services.advice import mixing, preferences
from oo.services.learning import learner, signals
from oo.services.learning.policies import RANDOM, ServingSet, serving_set
from oo.services.tips import advice, calendar_view, candidates, facts, tip_log
from oo.services.tips.explain import Recommendation
from oo.services.tips.tip_log import Outcome
from oo.timezones import zone

log = logging.getLogger("oo.recommend")

BUDGET_SECONDS = 0.05  # the active learner's time budget per pick; then Random serves
CHANNELS = ("web", "push", "api")
POOL_SIZE = 4  # a stuck pick holds a thread; with all of them stuck, every pick falls back
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="oo-learner")


def pick_one(policy: Policy, X: FeatureMatrix) -> tuple[Any, ...]:
    """A shadow's pick with its whole distribution (`oo.services.tips.shadows`, after serving)."""
    return _pick(policy, X, False)


def _pick(policy: Policy, X: FeatureMatrix, explain_it: bool) -> tuple[Any, ...]:
    """Active: choose (index, score, propensity) and explain. Shadow: also its whole distribution."""
    start = perf_counter()
    if explain_it:
        (index, score, propensity), probs = policy.choose(X), None
    else:
        (index, score, propensity), probs = policy.choose_with_distribution(X)
    detail = policy.explain(X.row(index)) if explain_it and isinstance(policy, LinUCBPolicy) else None
    return index, score, detail, (perf_counter() - start) * 1000, propensity, probs


def _encode(serving: ServingSet, views: TaskBatch, ctx: Context) -> dict[str, FeatureMatrix | Exception]:
    out: dict[str, FeatureMatrix | Exception] = {}
    for ref in serving.all:
        if ref.encoder not in out:
            try:
                out[ref.encoder] = get_encoder(ref.encoder).encode_batch(views, ctx)
            except Exception as exc:  # a broken encoder must not break the page
                out[ref.encoder] = exc
    return out


def _score_all(
    session: Session,
    user_id: int,
    serving: ServingSet,
    matrices: dict[str, FeatureMatrix | Exception],
    deferred: list[tip_log.Deferred] | None = None,
    versions: Mapping[str, tuple[int, datetime | None]] | None = None,
) -> list[Outcome]:
    """Score every policy: the active one on the pool under the budget, the shadows meanwhile.

    The budget covers the learner's whole part (loading the models, picking, explaining).
    Shadows run in this thread while the active pick runs on the pool; once the budget is
    spent, the remaining shadows are skipped. With ``deferred`` (a list), the shadows are not
    scored here: each one's model and matrix, as they are now, go into the list for
    `oo.services.tips.shadows` to score after the tip is served.
    """
    deadline = perf_counter() + BUDGET_SECONDS
    try:
        models = learner.get_models(session=session, user_id=user_id, refs=serving.all, versions=versions)
    except Exception as exc:
        log.exception("loading the models of user %s failed", user_id)
        models, missing = {}, f"model load failed: {exc.__class__.__name__}"
    else:
        missing = "no model"
    outcomes = [Outcome(ref, "active" if i == 0 else "shadow") for i, ref in enumerate(serving.all)]
    runnable = {}
    for outcome in outcomes:
        X, policy = matrices.get(outcome.ref.encoder), models.get(outcome.ref.key)
        if not isinstance(X, FeatureMatrix):
            outcome.error = f"encoding failed: {X!r}"
        elif policy is None:
            outcome.error = missing
        else:
            runnable[outcome.ref.key] = (policy, X)
    active = outcomes[0]
    future = _pool.submit(_pick, *runnable[active.ref.key], True) if active.ref.key in runnable else None
    _score_shadows(outcomes[1:], runnable, deadline, user_id, deferred)
    if future is not None:
        try:
            active.index, active.score, active.detail, active.latency_ms, active.propensity, _ = (
                future.result(timeout=max(0.0, deadline - perf_counter()))
            )
        except FutureTimeout:
            active.error = f"over the {BUDGET_SECONDS * 1000:.0f} ms budget"
        except Exception as exc:
            active.error = f"{exc.__class__.__name__}: {exc}"
    return outcomes


def _score_shadows(
    shadows: list[Outcome],
    runnable: dict[str, tuple[Policy, FeatureMatrix]],
    deadline: float,
    user_id: int,
    deferred: list[tip_log.Deferred] | None,
) -> None:
    """Score the shadows in this thread until the deadline (or leave them to ``deferred``)."""
    for outcome in shadows:
        if outcome.ref.key not in runnable:
            continue
        if deferred is not None:  # scored after the pick is served, on the model it had now
            deferred.append(tip_log.Deferred(outcome, *runnable[outcome.ref.key]))
            continue
        if perf_counter() > deadline:
            outcome.error = "skipped: the budget is spent"
            continue
        try:
            (
                outcome.index,
                outcome.score,
                outcome.detail,
                outcome.latency_ms,
                outcome.propensity,
                outcome.probs,
            ) = _pick(*runnable[outcome.ref.key], False)
        except Exception as exc:
            outcome.error = f"{exc.__class__.__name__}: {exc}"
            log.warning("shadow %s failed for user %s: %s", outcome.ref.key, user_id, outcome.error)


def recommend(
    *,
    session: Session,
    user_id: int,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    channel: str = "web",
    exclude_task_ids: Collection[int] = (),
    later: list[tip_log.ShadowJob] | None = None,
    integrations: tuple[tuple[str, str, datetime | None], ...] | None = None,
) -> Recommendation:
    """Pick one tip for the user now, log it, and say why.

    Args:
        session: Database session.
        user_id: The (already authenticated) user.
        now: The moment of asking (aware); defaults to now.
        tz: The user's time zone; read from ``User.timezone`` when omitted.
        channel: ``web``, ``push`` or ``api`` (logged on the tip).
        exclude_task_ids: Tasks not to pick this time (e.g. the one just reacted to).
        later: Score the shadows after serving: their work is appended here for
            `oo.services.tips.shadows.run` (the served policy's row is logged now either way).
        integrations: The user's integration rows if this request read them (`source_state`).

    Returns:
        The recommendation: a task (``kind`` "todo") or a piece of advice (``kind`` "advice",
        see `oo.services.tips.advice`); ``Recommendation.nothing()`` when no task is open and
        no advice fits (or the user switched advice off).

    Raises:
        ValueError: For an unknown channel or a naive ``now``.
    """
    started = perf_counter()
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    now = now or utcnow()
    tz, zone_ok = _user_zone(session, user_id, tz)
    # The calendar comes from the busy cache only: never a wait, unknown on a miss.
    ctx = Context(now.astimezone(tz), **calendar_view.read(user_id, now))
    _note_ignored(session, user_id, now)
    ids, views = candidates.load(session=session, user_id=user_id, now=now, exclude=exclude_task_ids)
    mix, versions = _kind_first(session, user_id, now, ctx.now, len(ids))
    if mix is not None and mix.kind == "advice":
        return advice.serve(session=session, user_id=user_id, channel=channel, decision=mix, started=started)
    if not ids:
        return Recommendation.nothing()
    serving = serving_set(session=session)
    matrices = _encode(serving, views, ctx)
    deferred: list[tip_log.Deferred] | None = [] if later is not None else None
    outcomes = _score_all(session, user_id, serving, matrices, deferred, versions)
    served = outcomes[0]
    if served.index is None:
        log.warning("%s failed for user %s (%s); Random serves", served.ref.key, user_id, served.error)
        served = _fallback(views)
        outcomes.append(served)
    assert served.index is not None
    pick = tip_log.Pick(
        user_id, ids, views, ctx, matrices, outcomes, started, now, zone_ok, mix, deferred or [], integrations
    )
    return _log(session, pick, served, tz=ctx.now.tzinfo or tz, channel=channel, later=later)


# What a pick reads of the user before it decides, in one statement: the Advice switch and the
# version of every stored model (the task policies' and the kind learner's; no model bytes).
_USER_MODELS = (
    sa.select(
        col(User.advice_enabled),
        col(ModelState.policy_key),
        col(ModelState.updates),
        col(ModelState.updated_at),
    )
    .select_from(User)
    .outerjoin(ModelState, col(ModelState.user_id) == col(User.id))
    .where(col(User.id) == sa.bindparam("user_id"))
)


def _user_models(
    session: Session, user_id: int
) -> tuple[bool | None, dict[str, tuple[int, datetime | None]]]:
    """The user's stored Advice switch (None: not chosen) and their models' versions by policy key."""
    rows = session.connection().execute(_USER_MODELS, {"user_id": user_id}).all()
    switch = rows[0][0] if rows else None
    return switch, {key: (updates, at) for _, key, updates, at in rows if key is not None}


def _kind_first(
    session: Session, user_id: int, now: datetime, local: datetime, open_tasks: int
) -> tuple[advice.Decision | None, dict[str, tuple[int, datetime | None]]]:
    """Task or advice for this request, and the user's model versions read for it (one statement)."""
    switch, versions = _user_models(session, user_id)
    mix = advice.decide_or_task(
        session=session,
        user_id=user_id,
        now=now,
        local=local,
        open_tasks=open_tasks,
        advice_on=preferences.effective(switch),
        kind_version=versions.get(mixing.MODEL_KEY, (0, None)),
    )
    return mix, versions


def _user_zone(session: Session, user_id: int, tz: tzinfo | None) -> tuple[tzinfo, bool]:
    """The zone to pick in (the given one, else the user's) and whether it is a known zone."""
    if tz is not None:
        return tz, True
    name = candidates.user_zone_name(session=session, user_id=user_id)
    return zone(name), facts.zone_known(name)


def _note_ignored(session: Session, user_id: int, now: datetime) -> None:
    """Record the user's earlier unanswered tips as ignored (a weak signal); never blocks a pick."""
    try:
        signals.maybe_record_ignored(session=session, user_id=user_id, now=now)
    except Exception:
        session.rollback()
        log.exception("recording ignored tips of user %s failed", user_id)


def _fallback(views: TaskBatch) -> Outcome:
    start = perf_counter()
    index, score, propensity = learner.random_policy().choose(views)  # type: ignore[arg-type]
    return Outcome(RANDOM, "fallback", index, score, (perf_counter() - start) * 1000, propensity=propensity)


def _log(
    session: Session,
    pick: tip_log.Pick,
    served: Outcome,
    *,
    tz: tzinfo,
    channel: str,
    later: list[tip_log.ShadowJob] | None,
) -> Recommendation:
    assert served.index is not None
    task = candidates.text_of(session=session, user_id=pick.user_id, task_id=pick.ids[served.index])
    if task is None:  # deleted between the two reads (a sync); rare, so simply ask again
        return recommend(
            session=session,
            user_id=pick.user_id,
            now=pick.now,
            tz=tz,
            channel=channel,
            exclude_task_ids=[pick.ids[served.index]],
            later=later,
            integrations=pick.integrations,
        )
    return tip_log.write(session, pick, served, task, channel=channel, later=later)


def warm_up() -> None:
    """Start the pool's threads and touch numpy's products once, so the first real pick is fast."""
    X = FeatureMatrix(("a",), np.array([[1.0], [0.0]]))
    for future in [_pool.submit(_pick, learner.random_policy(), X, False) for _ in range(POOL_SIZE)]:
        future.result()
    LinUCBPolicy(["a"]).pick(X)


def served_event(rec: Recommendation, *, user_id: int, channel: str) -> Event:
    """The ``signals.tip.served`` event for a served recommendation."""
    assert rec.tip_id is not None
    return Event.of(
        TipServed(
            tip_id=rec.tip_id,
            task_id=str(rec.task_id) if rec.task_id is not None else None,
            policy=rec.policy,
            policy_version=str(rec.policy_version),
            score=rec.score,
            channel=channel,  # type: ignore[arg-type]
        ),
        user_id=user_id,
    )
