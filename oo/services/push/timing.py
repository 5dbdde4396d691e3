"""Learned push timing: per-user signals, the send / don't-send decision, its log, and its rewards.

At each push round the decide-and-deliver job (`oo.services.push_delivery`) loads the signals of
a batch of users in a handful of queries (`load_signals`), settles the outcomes of earlier pushes
into each user's timing model (`settle`), and — when the hard rules allow a push — asks the model
(`oo.recommender.timing`) whether to send now. Every model decision, send or not, is a
``push_decision`` row with the probability used, its context and, later, its outcome.

A user's very first push is sent at the first round the rules allow (reason ``first``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import ModelState, PushDecision, TipFeedback, TipView, User, utcnow
from oo.recommender import timing
from oo.services.push.rules import local_day_start, zone

PUSH_TTL = timedelta(hours=4)  # a pushed tip older than this is no longer "right now"
DECISION_SPACING = timedelta(minutes=60)  # after a "not now", ask again only this much later
HISTORY = timedelta(hours=48)


@dataclass
class Signals:
    """What the job knows about one user at this round."""

    pushes: list[tuple[datetime, int | None]] = field(default_factory=list)  # (served_at, task_id)
    last_visit: datetime | None = None
    last_reaction: datetime | None = None
    last_wait: datetime | None = None  # the last "not now" of the model
    ever_sent: bool = False
    model: timing.TimingModel = field(default_factory=timing.TimingModel.new)
    model_row: ModelState | None = None
    unsettled: list[tuple[PushDecision, str | None]] = field(default_factory=list)  # with tip reaction

    def last_push(self) -> datetime | None:
        """When the last push went out."""
        return max((t for t, _ in self.pushes), default=None)

    def pushes_between(self, start: datetime, end: datetime) -> int:
        """Pushes served in ``[start, end)``."""
        return sum(1 for t, _ in self.pushes if start <= t < end)


def _by_user(rows: list, key: int = 0) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return out


def load_signals(*, session: Session, user_ids: list[int], now: datetime) -> dict[int, Signals]:
    """Signals of every user in ``user_ids`` in six queries."""
    out = {uid: Signals() for uid in user_ids}
    ids = col(TipView.user_id).in_(user_ids)
    for uid, at, task in session.exec(
        select(TipView.user_id, TipView.served_at, TipView.task_id).where(
            ids, TipView.channel == "push", col(TipView.served_at) >= now - HISTORY
        )
    ).all():
        out[uid].pushes.append((at, task))
    for uid, at in session.exec(
        select(TipView.user_id, sa.func.max(TipView.served_at))
        .where(ids, TipView.channel == "web")
        .group_by(col(TipView.user_id))
    ).all():
        out[uid].last_visit = at
    for uid, at in session.exec(
        select(TipFeedback.user_id, sa.func.max(TipFeedback.created_at))
        .where(col(TipFeedback.user_id).in_(user_ids))
        .group_by(col(TipFeedback.user_id))
    ).all():
        out[uid].last_reaction = _aware(at)
    in_decisions = col(PushDecision.user_id).in_(user_ids)
    wait_at = sa.case((col(PushDecision.send).is_(False), PushDecision.decided_at))
    for uid, at, sent in session.exec(
        select(
            PushDecision.user_id, sa.func.max(wait_at), sa.func.max(sa.cast(PushDecision.send, sa.Integer))
        )
        .where(in_decisions)
        .group_by(col(PushDecision.user_id))
    ).all():
        out[uid].last_wait, out[uid].ever_sent = _aware(at), bool(sent)
    for row in session.exec(
        select(ModelState).where(col(ModelState.user_id).in_(user_ids), ModelState.policy_key == timing.KEY)
    ).all():
        out[row.user_id].model_row = row
        out[row.user_id].model = timing.TimingModel.from_dict(json.loads(row.data))
    for decision, reaction in session.exec(
        select(PushDecision, TipView.reaction)
        .join(TipView, col(TipView.id) == col(PushDecision.tip_id), isouter=True)
        .where(in_decisions, col(PushDecision.settled_at).is_(None), PushDecision.send)
    ).all():
        out[decision.user_id].unsettled.append((decision, reaction))
    return out


def load_rule_signals(*, session: Session, user_ids: list[int], now: datetime) -> dict[int, Signals]:
    """Only what the hard rules read (recent push times, the last "not now"), in two light queries."""
    out = {uid: Signals() for uid in user_ids}
    for uid, at in session.exec(
        select(TipView.user_id, TipView.served_at).where(
            col(TipView.user_id).in_(user_ids),
            TipView.channel == "push",
            col(TipView.served_at) >= now - HISTORY,
        )
    ).all():
        out[uid].pushes.append((at, None))
    wait_at = sa.func.max(PushDecision.decided_at)
    for uid, at in session.exec(
        select(PushDecision.user_id, wait_at)
        .where(col(PushDecision.user_id).in_(user_ids), col(PushDecision.send).is_(False))
        .group_by(col(PushDecision.user_id))
    ).all():
        out[uid].last_wait = _aware(at)
    return out


def _aware(value: datetime | str | None) -> datetime | None:
    """``max()`` over a UTC column comes back naive (SQLite) or as text: make it aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _minutes(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds() / 60)


def context(
    *, user: User, sig: Signals, busy: list | None, calendar: bool, now: datetime, daily_cap: int
) -> timing.TimingContext:
    """The model's view of this user now (``busy``: blocks, or None when unknown or absent)."""
    local = now.astimezone(zone(user.timezone))
    upcoming = [b.start for b in busy or [] if b.start > now]
    return timing.TimingContext(
        hour=local.hour + local.minute / 60,
        weekday=local.weekday(),
        calendar_known=calendar and busy is not None,
        minutes_to_busy=_minutes(min(upcoming), now) if upcoming else None,
        minutes_since_push=_minutes(now, sig.last_push()),
        minutes_since_visit=_minutes(now, sig.last_visit),
        minutes_since_reaction=_minutes(now, sig.last_reaction),
        pushes_today=sig.pushes_between(local_day_start(now, user.timezone), now + timedelta(seconds=1)),
        daily_cap=daily_cap,
    )


def settle(*, session: Session, user_id: int, sig: Signals, now: datetime) -> int:
    """Teach the timing model every sent push whose outcome is known; returns how many it learned.

    Known means: a reaction to the pushed tip, or the push expired (`PUSH_TTL`) — opened (small
    reward) or not (small cost). A push that reached no device, or found no tip, teaches nothing.
    """
    learned = 0
    for decision, reaction in sig.unsettled:
        expired = decision.decided_at + PUSH_TTL <= now
        if reaction is None and not expired and decision.delivered is not False and decision.tip_id:
            continue
        decision.settled_at = now
        if decision.tip_id and decision.delivered and (reaction or expired):
            recent = sig.pushes_between(decision.decided_at - timedelta(hours=24), decision.decided_at)
            r = timing.reward(reaction=reaction, opened=decision.opened_at is not None, recent_pushes=recent)
            x = json.loads(decision.context).get("x")
            if isinstance(x, list) and len(x) == timing.DIM:
                sig.model.learn(x, r)
                learned += 1
            decision.reward, decision.reaction = r, reaction
            if reaction and decision.reacted_via is None:
                decision.reacted_via = "page"
        session.add(decision)
    sig.unsettled = [(d, r) for d, r in sig.unsettled if d.settled_at is None]
    if learned:
        _save_model(session, user_id, sig, now)
    return learned


def _save_model(session: Session, user_id: int, sig: Signals, now: datetime) -> None:
    data = json.dumps(sig.model.to_dict()).encode()
    row = sig.model_row or ModelState(user_id=user_id, policy_key=timing.KEY, data=data)
    row.data, row.updates, row.updated_at = data, sig.model.updates, now
    session.add(row)
    sig.model_row = row


def choose(*, sig: Signals, ctx: timing.TimingContext, draw: Callable[[], float]) -> tuple[bool, float, str]:
    """``(send, probability, reason)``: the first push always goes; then Thompson sampling."""
    if not sig.ever_sent and not sig.pushes:
        return True, 1.0, "first"
    send, p = sig.model.decide(ctx.features(), draw())
    return send, p, "model"


def log_decision(
    *,
    session: Session,
    user_id: int,
    now: datetime,
    ctx: timing.TimingContext,
    send: bool,
    probability: float,
    reason: str,
    tip_id: str | None = None,
) -> PushDecision:
    """Append one decision (not committed: the caller's transaction)."""
    raw = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in ctx.__dict__.items()}
    row = PushDecision(
        user_id=user_id,
        decided_at=now,
        policy=timing.KEY,
        send=send,
        probability=round(probability, 6),
        reason=reason,
        local_hour=int(ctx.hour),
        context=json.dumps({"x": [round(v, 6) for v in ctx.features()], "raw": raw}),
        tip_id=tip_id,
    )
    session.add(row)
    return row


def mark_delivered(*, session: Session, tip_id: str, delivered: bool) -> None:
    """Record whether the pushed tip reached any device."""
    row = session.exec(select(PushDecision).where(PushDecision.tip_id == tip_id)).first()
    if row is not None:
        row.delivered = delivered
        session.add(row)


def decisions_of(*, session: Session, tip_ids: list[str]) -> dict[str, PushDecision]:
    """The push decisions that served these tips, by tip id (one query)."""
    if not tip_ids:
        return {}
    rows = session.exec(select(PushDecision).where(col(PushDecision.tip_id).in_(tip_ids))).all()
    return {row.tip_id: row for row in rows if row.tip_id is not None}


def mark_opened(*, session: Session, user_id: int, tip_id: str, now: datetime | None = None) -> bool:
    """The notification opened its tip (first time only); False when it was no push of this user's."""
    row = session.exec(
        select(PushDecision).where(PushDecision.tip_id == tip_id, PushDecision.user_id == user_id)
    ).first()
    if row is None:
        return False
    if row.opened_at is None:
        row.opened_at = now or utcnow()
        session.add(row)
        session.commit()
    return True


def mark_reacted_from_notification(*, session: Session, user_id: int, tip_id: str, reaction: str) -> None:
    """A Done / Snooze pressed on the notification itself."""
    row = session.exec(
        select(PushDecision).where(PushDecision.tip_id == tip_id, PushDecision.user_id == user_id)
    ).first()
    if row is not None and row.reacted_via is None:
        row.reacted_via, row.reaction, row.reacted_at = "notification", reaction, utcnow()
        session.add(row)
        session.commit()
