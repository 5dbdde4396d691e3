"""Advice through the one contract (R10): decide the kind, and log a served piece like any tip.

`decide` runs inside `oo.services.tips.recommend.recommend` after the open tasks are read:

- the user's **Advice** switch is off, or no piece is eligible now → no advice (tasks only);
- no task is open → the best piece, kind forced (kind propensity 1, the mixer learns nothing);
- otherwise the per-user kind learner draws task or advice with an exact probability; its
  features are logged on the tip either way, so it learns from the reaction to what it chose.

`serve` writes the ``tip_view`` (``kind = advice``, ``source = advice``, ``external_id`` = the
piece's key, no task) and one ``tip_score`` row, in one transaction, and returns the same
`Recommendation` as a task: tip id, policy, score, explanation, propensity. Advice never closes
anything at a source: it has no task, and `oo.services.tips.feedback` skips advice explicitly.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col

from oo.models import TipScore, TipView, User, table
from oo.recommender.kind_mix import KindChoice, context
from oo.services.advice import library, mixing, picking, preferences
from oo.services.advice.picking import ADVICE_SOURCE, AdvicePick, Moment
from oo.services.platform import jsontext
from oo.services.tips.explain import Explanation, FeatureContribution, Recommendation
from oo.settings import get_settings

log = logging.getLogger("oo.advice")
_ENABLED = sa.select(col(User.advice_enabled)).where(col(User.id) == sa.bindparam("user_id"))
_rng = np.random.default_rng()


@dataclass(frozen=True)
class Decision:
    """The kind for this request and, for advice, the piece; ``choice`` None when the kind was forced."""

    kind: str
    advice: AdvicePick
    choice: KindChoice | None
    now: datetime  # the moment of the request (the tip is served then)

    @property
    def kind_propensity(self) -> float:
        """P(this kind) — 1 when there was no choice."""
        return 1.0 if self.choice is None else self.choice.propensity

    def logged(self) -> dict[str, Any]:
        """What the tip's explanation records about the kind decision."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "kind_policy": mixing.MODEL_KEY,
            "kind_propensity": self.kind_propensity,
        }
        if self.choice is not None:
            out |= {"p_advice": self.choice.p_advice, "kind_scores": self.choice.scores}
        return out


def enabled(*, session: Session, user_id: int) -> bool:
    """The user's Advice switch (their choice, else the server default)."""
    return preferences.effective(session.connection().execute(_ENABLED, {"user_id": user_id}).scalar())


def decide(
    *,
    session: Session,
    user_id: int,
    now: datetime,
    local: datetime,
    open_tasks: int,
    rng: np.random.Generator | None = None,
    advice_on: bool | None = None,
    kind_version: tuple[int, datetime | None] | None = None,
) -> Decision | None:
    """Advice or task for this request; None when advice is off or nothing fits now.

    Reads (beyond the cached library): the switch, the user's recent advice tips, and — when a
    task is open — the kind model's version (its row only when the cached model is not that
    version). ``advice_on`` (the switch in effect) and ``kind_version`` (the kind model's stored
    ``updates``/``updated_at``, ``(0, None)`` for none) spare the reads when the caller has them.
    """
    pieces = library.active_pieces(session=session)  # cached in process
    if not pieces or not (enabled(session=session, user_id=user_id) if advice_on is None else advice_on):
        return None
    settings = get_settings()
    rng = rng if rng is not None else _rng
    seen = picking.history(
        session=session,
        user_id=user_id,
        now=now,
        repeat_days=settings.advice_repeat_days,
        dismiss_days=settings.advice_dismiss_days,
        recent=mixing.RECENT_ADVICE,
    )
    moment = Moment(local=local, open_tasks=open_tasks)
    advice = picking.pick(pieces=pieces, moment=moment, resting=seen.resting, rng=rng)
    if advice is None:
        return None
    if open_tasks == 0:
        return Decision("advice", advice, None, now)
    recent = seen.last_shown is not None and now - seen.last_shown <= mixing.RECENT_ADVICE
    ctx = context(hour=local.hour, weekend=local.weekday() >= 5, open_tasks=open_tasks, advice_recent=recent)
    choice = mixing.decide(session=session, user_id=user_id, ctx=ctx, rng=rng, version=kind_version)
    return Decision(choice.kind, advice, choice, now)


def task_factor(mix: Decision | None, xs: dict[str, dict[str, float]]) -> float:
    """For a task tip: the kind draw's probability (1 without a draw), and the kind learner's x logged.

    Every logged probability is of the whole tip: the kind draw, when there was one, times the
    task policy's probability of the task. Shadows' served probabilities get the same factor, so
    off-policy ratios between task policies are unchanged.
    """
    if mix is not None and mix.choice is not None:
        xs[mixing.FEATURES_KEY] = mix.choice.x  # the kind learner learns from this tip too
    return mix.kind_propensity if mix is not None else 1.0


def decide_or_task(
    *,
    session: Session,
    user_id: int,
    now: datetime,
    local: datetime,
    open_tasks: int,
    advice_on: bool | None = None,
    kind_version: tuple[int, datetime | None] | None = None,
) -> Decision | None:
    """`decide`, but a failure here never costs the user their task: it logs and means "task"."""
    try:
        return decide(
            session=session,
            user_id=user_id,
            now=now,
            local=local,
            open_tasks=open_tasks,
            advice_on=advice_on,
            kind_version=kind_version,
        )
    except Exception:
        log.exception("the advice decision failed for user %s; serving a task", user_id)
        session.rollback()
        return None


def _summary(decision: Decision) -> str:
    reasons = " and ".join(decision.advice.reasons)
    if decision.choice is None:
        return (
            f"Advice {reasons}: nothing is open."
            if "nothing is open" not in reasons
            else f"Advice {reasons}."
        )
    p = decision.choice.p_advice
    lead = "Advice suits you at this time" if p >= 0.5 else "A change from your tasks"
    return f"{lead} — {reasons}."


def explanation(decision: Decision) -> Explanation:
    """Why this piece: the kind decision (its features and scores) and the tags that matched."""
    x = decision.choice.x if decision.choice else {}
    return Explanation(
        summary=_summary(decision),
        mean=decision.choice.scores.get("advice", 0.0) if decision.choice else 0.0,
        features=tuple(FeatureContribution(n, float(v), 0.0) for n, v in x.items() if v),
    )


def _logged(decision: Decision, propensity: float) -> dict[str, Any]:
    """What the tip log's explanation says about the advice pick beyond the explanation itself."""
    return {
        "policy": f"{mixing.POLICY_NAME}@{mixing.POLICY_VERSION}",
        "propensity": propensity,
        "item_propensity": decision.advice.propensity,
        "advice_key": decision.advice.piece.key,
        "match": decision.advice.match,
        "eligible": decision.advice.eligible,
    }


def serve(
    *, session: Session, user_id: int, channel: str, decision: Decision, started: float
) -> Recommendation:
    """Log the decided piece as a served tip (at the decision's moment) and return it through the contract."""
    now = decision.now
    piece, tip_id = decision.advice.piece, uuid.uuid4().hex
    propensity = decision.kind_propensity * decision.advice.propensity
    score = decision.choice.scores["advice"] if decision.choice else decision.advice.match
    why = explanation(decision)
    xs = {mixing.FEATURES_KEY: decision.choice.x} if decision.choice else {}
    logged = why.as_dict() | decision.logged() | _logged(decision, propensity)
    latency = (perf_counter() - started) * 1000
    conn = session.connection()
    conn.execute(
        sa.insert(table(TipView)),
        {
            "id": tip_id, "user_id": user_id, "task_id": None, "source": ADVICE_SOURCE,
            "external_id": piece.key, "kind": "advice", "channel": channel,
            "policy": mixing.POLICY_NAME, "policy_version": mixing.POLICY_VERSION, "score": score,
            "fallback": False, "features": jsontext.dumps(xs), "explanation": jsontext.dumps(logged),
            "latency_ms": latency, "served_at": now, "reaction": None, "reacted_at": None,
            "propensity": propensity,
        },
    )  # fmt: skip
    conn.execute(
        sa.insert(table(TipScore)),
        {
            "request_id": tip_id, "tip_id": tip_id, "user_id": user_id, "policy": mixing.POLICY_NAME,
            "policy_version": mixing.POLICY_VERSION, "role": "active", "task_id": None, "score": score,
            "candidates": decision.advice.eligible, "features": jsontext.dumps(xs.get(mixing.FEATURES_KEY, {})),
            "latency_ms": latency, "created_at": now, "served_probability": propensity,
        },
    )  # fmt: skip
    session.commit()
    return Recommendation(
        tip_id=tip_id,
        text=piece.text,
        kind="advice",
        source=ADVICE_SOURCE,
        external_id=piece.key,
        policy=mixing.POLICY_NAME,
        policy_version=mixing.POLICY_VERSION,
        score=score,
        explanation=why,
        served_at=now,
        latency_ms=latency,
        propensity=propensity,
        advice_key=piece.key,
        rationale=piece.rationale,
    )
