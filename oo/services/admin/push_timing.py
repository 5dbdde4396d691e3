"""Admin: the push funnel by hour of day, and one user's timing model and last decisions.

The funnel counts ``push_decision`` rows in a window by the user's local hour of the decision:
*decided* (every timing decision, send or not), *sent* (a tip went out), *delivered* (at least
one device took it), *opened* (the notification opened its tip) and *reacted* (the pushed tip got
a reaction, from the notification or the page). Hard-rule skips (quiet hours, cap, busy, gap) are
not decisions and are not counted.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import ModelState, PushDecision, TipView, utcnow
from oo.recommender import timing

STAGES = ("decided", "sent", "delivered", "opened", "reacted")


def funnel_by_hour(*, session: Session, days: int = 30, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per local hour 0..23 with the count at each stage."""
    since = (now or utcnow()) - timedelta(days=days)
    sent = sa.and_(col(PushDecision.send), col(PushDecision.tip_id).is_not(None))
    count = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    rows = session.exec(
        select(  # type: ignore[call-overload]
            PushDecision.local_hour,
            sa.func.count(),
            count(sent),
            count(col(PushDecision.delivered).is_(True)),
            count(col(PushDecision.opened_at).is_not(None)),
            count(sa.or_(col(TipView.reaction).is_not(None), col(PushDecision.reaction).is_not(None))),
        )
        .join(TipView, col(TipView.id) == col(PushDecision.tip_id), isouter=True)
        .where(col(PushDecision.decided_at) >= since)
        .group_by(PushDecision.local_hour)
    ).all()
    found = {int(r[0]): [int(v or 0) for v in r[1:]] for r in rows}
    return [{"hour": h, **dict(zip(STAGES, found.get(h, [0] * len(STAGES)), strict=True))} for h in range(24)]


def send_probability_by_hour(*, session: Session, user_id: int) -> list[dict[str, Any]]:
    """The user's model: P(send) at each local hour of a weekday, calendar free, no push for hours."""
    row = session.exec(
        select(ModelState).where(ModelState.user_id == user_id, ModelState.policy_key == timing.KEY)
    ).first()
    model = timing.TimingModel.from_dict(json.loads(row.data)) if row else timing.TimingModel.new()
    out = []
    for hour in range(24):
        ctx = timing.TimingContext(
            hour=hour + 0.5,
            weekday=2,
            calendar_known=True,
            minutes_to_busy=None,
            minutes_since_push=None,
            minutes_since_visit=None,
            minutes_since_reaction=None,
            pushes_today=0,
            daily_cap=3,
        )
        out.append({"hour": hour, "p_send": round(model.send_probability(ctx.features()), 3)})
    return out


def _why(d: PushDecision) -> str:
    if d.reason == "first":
        return "first push: always sent"
    if d.reason == "nothing":
        return f"model said send (p={d.probability:.2f}) but no open task"
    verb = "sent" if d.send else "not now"
    try:
        raw = json.loads(d.context).get("raw", {})
    except ValueError:
        raw = {}
    bits = [f"{verb} (p={d.probability:.2f})", f"{raw.get('pushes_today', '?')} pushed today"]
    if raw.get("minutes_to_busy") is not None:
        bits.append(f"busy in {round(raw['minutes_to_busy'])} min")
    if not raw.get("calendar_known"):
        bits.append("calendar unknown")
    return ", ".join(bits)


def last_decisions(*, session: Session, user_id: int, limit: int = 20) -> list[dict[str, str]]:
    """The user's most recent timing decisions, newest first, with a readable reason."""
    rows = session.exec(
        select(PushDecision)
        .where(PushDecision.user_id == user_id)
        .order_by(col(PushDecision.decided_at).desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": d.decided_at.strftime("%Y-%m-%d %H:%M"),
            "hour": str(d.local_hour),
            "decision": "send" if d.send else "wait",
            "why": _why(d),
            "outcome": d.reaction or ("opened" if d.opened_at else ("ignored" if d.settled_at else "")),
            "reward": "" if d.reward is None else f"{d.reward:+.2f}",
        }
        for d in rows
    ]
