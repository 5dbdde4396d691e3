"""Decide and deliver (U7): for every subscribed user, maybe push one tip, at the right moment.

Per user and round: nothing in quiet hours (the user's own window, else ``OO_DEFAULT_QUIET_HOURS``,
in their time zone), nothing past the daily cap (``OO_PUSH_DAILY_CAP`` pushes per local day), never
the same task twice within 24 h; otherwise one `recommend()` call on the ``push`` channel (so every
push is a ``tip_views`` row) and one encrypted message per device, with TTL, Urgency and a per-user
Topic so a newer tip replaces one the push service still holds. 404/410 delete the subscription;
a push that reached no device is relabelled ``push_failed`` (it neither counts toward the cap nor
blocks the task) and the next round tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from oo.bus import Event, PushSent
from oo.db import session_scope
from oo.integrations.webpush import Subscription, WebPushSender, make_topic
from oo.models import PushSubscription, TipView, User, utcnow
from oo.services.platform.event_bus import publish
from oo.services.push import subscriptions as push
from oo.services.push.rules import QuietHoursError, is_quiet, local_day_start, parse_quiet_hours
from oo.services.tips.explain import Recommendation
from oo.services.tips.recommend import recommend, served_event
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.push.delivery")
PUSH_TTL = 4 * 3600  # a tip older than a few hours is no longer "right now"
BATCH = 200


@dataclass
class Planned:
    """One push decided for one user: the tip and the devices to send it to."""

    user_id: int
    rec: Recommendation
    topic: str
    devices: list[tuple[PushSubscription, Subscription]]

    @property
    def tip_id(self) -> str:
        """The served tip's id."""
        assert self.rec.tip_id is not None
        return self.rec.tip_id


@dataclass
class RoundStats:
    """What one round did, for the job status and the bench."""

    users: int = 0
    sent: int = 0
    skipped: Counter = field(default_factory=Counter)
    results: Counter = field(default_factory=Counter)


def quiet_window(user: User, settings: Settings) -> tuple[int, int] | None:
    """The user's quiet hours, falling back to the server default (a bad stored value → default)."""
    try:
        return parse_quiet_hours(
            user.quiet_hours if user.quiet_hours is not None else settings.default_quiet_hours
        )
    except QuietHoursError:
        return parse_quiet_hours(settings.default_quiet_hours)


def decide(*, session: Session, user: User, now: datetime, settings: Settings) -> Planned | str:
    """Plan a push for ``user``, or say why not (``quiet``, ``cap``, ``nothing``, ``no_device``)."""
    assert user.id is not None
    if is_quiet(now, quiet_window(user, settings), user.timezone):
        return "quiet"
    pushed = TipView.user_id == user.id, TipView.channel == "push"
    today = session.exec(
        select(func.count())
        .select_from(TipView)
        .where(*pushed, col(TipView.served_at) >= local_day_start(now, user.timezone))
    ).one()
    if today >= settings.push_daily_cap:
        return "cap"
    recent = session.exec(
        select(TipView.task_id).where(*pushed, col(TipView.served_at) >= now - timedelta(hours=24))
    ).all()
    devices = push.subscriptions(session=session, user_id=user.id)
    if not devices:
        return "no_device"
    rec = recommend(
        session=session,
        user_id=user.id,
        now=now,
        channel="push",
        exclude_task_ids={t for t in recent if t is not None},
    )
    if rec.empty:
        return "nothing"
    topic = make_topic(f"user:{user.id}", secret=settings.secret().encode())
    return Planned(user.id, rec, topic, devices)


async def deliver(plan: Planned, sender: WebPushSender) -> dict[int, str]:
    """Send one planned push to each device; returns device row id → result status."""
    payload = {
        "title": "oO",
        "body": plan.rec.text[:240],
        "url": "/tip",
        "tag": plan.topic,
        "tip_id": plan.tip_id,
    }
    results = await asyncio.gather(
        *(
            sender.send(sub, payload, topic=plan.topic, ttl=PUSH_TTL, urgency="normal")
            for _, sub in plan.devices
        )
    )
    return {row.id: r.status for (row, _), r in zip(plan.devices, results, strict=True) if row.id is not None}


def record(*, session: Session, plan: Planned, statuses: dict[int, str]) -> bool:
    """Apply results to the subscriptions and the tip log; True if any device got it."""
    for row, _ in plan.devices:
        fresh = session.get(PushSubscription, row.id)
        if fresh is not None:
            push.mark_result(session=session, row=fresh, status=statuses.get(row.id or 0, "retry"))
    delivered = "delivered" in statuses.values()
    if not delivered:
        view = session.get(TipView, plan.tip_id)
        if view is not None:
            view.channel = "push_failed"
            session.add(view)
    session.commit()
    return delivered


def _decide_batch(user_ids: list[int], now: datetime, settings: Settings, stats: RoundStats) -> list[Planned]:
    plans: list[Planned] = []
    with session_scope() as session:
        users = session.exec(
            select(User).where(col(User.id).in_(user_ids), col(User.deleted_at).is_(None))
        ).all()
        for user in users:
            stats.users += 1
            try:
                outcome = decide(session=session, user=user, now=now, settings=settings)
            except Exception:  # one user's failure never stops the round
                log.exception("push decision failed for user %s", user.id)
                outcome = "error"
            if isinstance(outcome, str):
                stats.skipped[outcome] += 1
            else:
                plans.append(outcome)
    return plans


def _record_batch(plans: list[Planned], sent: list[dict[int, str]], stats: RoundStats) -> list[bool]:
    with session_scope() as session:
        outcomes = []
        for plan, statuses in zip(plans, sent, strict=True):
            stats.results.update(statuses.values())
            outcomes.append(record(session=session, plan=plan, statuses=statuses))
    stats.sent += sum(outcomes)
    return outcomes


async def run_round(
    *, sender: WebPushSender, now: datetime | None = None, settings: Settings | None = None
) -> RoundStats:
    """One decide-and-deliver pass over every subscribed user.

    The database work (decisions, recording) runs in a worker thread, batch by batch, so a round
    over many users never stalls the server's event loop; only the sends run on the loop.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    stats = RoundStats()

    def subscribed() -> list[int]:
        with session_scope() as session:
            return sorted(set(session.exec(select(PushSubscription.user_id)).all()))

    user_ids = await asyncio.to_thread(subscribed)
    for start in range(0, len(user_ids), BATCH):
        plans = await asyncio.to_thread(_decide_batch, user_ids[start : start + BATCH], now, settings, stats)
        sent = await asyncio.gather(*(deliver(p, sender) for p in plans))
        delivered = await asyncio.to_thread(_record_batch, plans, sent, stats)
        for plan, ok in zip(plans, delivered, strict=True):
            await _announce(plan, ok=ok)
    return stats


async def _announce(plan: Planned, *, ok: bool) -> None:
    await publish(Event.of(PushSent(ok=ok, tip_id=plan.tip_id), user_id=plan.user_id))
    if ok:
        await publish(served_event(plan.rec, user_id=plan.user_id, channel="push"))
