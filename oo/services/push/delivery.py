"""Decide and deliver (U7): for every subscribed user, maybe push one tip, at the right moment.

Per user and round, hard rules first: nothing in quiet hours (the user's own window, else
``OO_DEFAULT_QUIET_HOURS``, in their time zone), nothing past the daily cap (``OO_PUSH_DAILY_CAP``
per local day), nothing while their Google Calendar says busy, nothing within
``OO_PUSH_MIN_GAP_MINUTES`` of the last push, and at most one timing decision per
`push_timing.DECISION_SPACING`. Then the learned timing model (`oo.services.push_timing`) decides
send / not now — every such decision is logged with its probability. A send is one `recommend()`
call on the ``push`` channel (never a task pushed in the last 24 h; every push is a ``tip_views``
row) and one encrypted message per device, with TTL, Urgency and a per-user Topic so a newer tip
replaces one the push service still holds. The payload names the tip and its URL
(``/tip?tip=<id>``) and offers Done and Snooze actions. 404/410 delete the subscription; a push that
reached no device is relabelled ``push_failed`` (it neither counts toward the cap nor blocks the
task) and the next round tries again. A calendar that cannot be read counts as unknown.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from oo import offload
from oo.bus import Event, PushSent
from oo.db import session_scope
from oo.integrations.push_subscription import Subscription
from oo.integrations.webpush import WebPushSender, make_topic
from oo.models import PushDecision, PushSubscription, TipView, User, utcnow
from oo.services.platform.event_bus import publish
from oo.services.push import calendar
from oo.services.push import subscriptions as push
from oo.services.push import timing as push_timing
from oo.services.push.rules import QuietHoursError, is_quiet, local_day_start, parse_quiet_hours
from oo.services.tips import refs as tip_refs
from oo.services.tips import shadows
from oo.services.tips.explain import Recommendation
from oo.services.tips.recommend import recommend, served_event
from oo.services.tips.tip_log import ShadowJob
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.push.delivery")
PUSH_TTL = int(push_timing.PUSH_TTL.total_seconds())  # a tip older than a few hours is no longer "right now"
BATCH = 200
NO_CALENDAR = object()


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


@dataclass
class RoundInput:
    """What a batch's decisions need beyond the database: calendars and the random draw.

    ``devices`` (the batch's decrypted subscriptions, read in one query) and ``later`` (the
    shadow policies' picks, scored by `oo.services.tips.shadows` after the batch is committed)
    are filled by the round; a lone `decide` reads the devices itself and scores shadows inline.
    """

    now: datetime
    settings: Settings
    calendars: dict[int, list | None]
    draw: Callable[[], float]
    devices: dict[int, list[tuple[PushSubscription, Subscription]]] | None = None
    later: list[ShadowJob] | None = None
    waits: list[PushDecision] | None = None  # the batch's not-send decisions, added at its end


def _hard_rule(user: User, sig: push_timing.Signals, busy: object, inp: RoundInput) -> str | None:
    now, settings = inp.now, inp.settings
    if is_quiet(now, quiet_window(user, settings), user.timezone):
        return "quiet"
    if (
        sig.pushes_between(local_day_start(now, user.timezone), now + timedelta(seconds=1))
        >= settings.push_daily_cap
    ):
        return "cap"
    if isinstance(busy, list) and any(b.start <= now < b.end for b in busy):
        return "busy"
    last = sig.last_push()
    if last is not None and now - last < timedelta(minutes=settings.push_min_gap_minutes):
        return "gap"
    if sig.last_wait is not None and now - sig.last_wait < push_timing.DECISION_SPACING:
        return "spacing"
    return None


def decide(*, session: Session, user: User, sig: push_timing.Signals, inp: RoundInput) -> Planned | str:
    """Plan a push for ``user``, or say why not (a hard rule, ``wait`` from the model, ``nothing``...)."""
    assert user.id is not None
    push_timing.settle(session=session, user_id=user.id, sig=sig, now=inp.now)
    busy = inp.calendars.get(user.id, NO_CALENDAR)
    if (rule := _hard_rule(user, sig, busy, inp)) is not None:
        return rule
    if inp.devices is not None:
        devices = inp.devices.get(user.id, [])
    else:
        devices = push.subscriptions(session=session, user_id=user.id)
    if not devices:
        return "no_device"
    ctx = push_timing.context(
        user=user,
        sig=sig,
        busy=busy if isinstance(busy, list) else None,
        calendar=busy is not NO_CALENDAR,
        now=inp.now,
        daily_cap=inp.settings.push_daily_cap,
    )
    send, p, reason = push_timing.choose(sig=sig, ctx=ctx, draw=inp.draw)
    entry = partial(
        push_timing.log_decision, session=session, user_id=user.id, now=inp.now, ctx=ctx, probability=p
    )
    if not send:
        row = entry(send=False, reason=reason)
        if inp.waits is not None:  # held out of the session until the batch commits, so another
            session.expunge(row)  # user's failure (a rollback) cannot drop this decision
            inp.waits.append(row)
        return "wait"
    recent = {t for at, t in sig.pushes if at >= inp.now - timedelta(hours=24) and t is not None}
    rec = recommend(
        session=session,
        user_id=user.id,
        now=inp.now,
        channel="push",
        exclude_task_ids=recent,
        later=inp.later,
    )
    entry(send=True, reason=reason if not rec.empty else "nothing", tip_id=rec.tip_id)
    session.commit()
    if rec.empty:
        return "nothing"
    topic = make_topic(f"user:{user.id}", secret=inp.settings.secret().encode())
    return Planned(user.id, rec, topic, devices)


def payload(plan: Planned) -> dict[str, object]:
    """The pushed message: the tip, its URL, and the actions the notification offers."""
    return {
        "title": "oO",
        "body": plan.rec.text[:240],
        "url": f"/tip?tip={plan.tip_id}",
        "tag": plan.topic,
        "tip_id": plan.tip_id,
        "ref": tip_refs.issue(user_id=plan.user_id, tip_id=plan.tip_id),  # what a Done / Snooze sends back
        "actions": [{"action": "done", "title": "Done"}, {"action": "snooze", "title": "Snooze"}],
    }


async def deliver(plan: Planned, sender: WebPushSender) -> dict[int, str]:
    """Send one planned push to each device; returns device row id → result status."""
    message = payload(plan)
    results = await asyncio.gather(
        *(
            sender.send(sub, message, topic=plan.topic, ttl=PUSH_TTL, urgency="normal")
            for _, sub in plan.devices
        )
    )
    return {row.id: r.status for (row, _), r in zip(plan.devices, results, strict=True) if row.id is not None}


def record(
    *,
    session: Session,
    plan: Planned,
    statuses: dict[int, str],
    decisions: dict[str, PushDecision] | None = None,
) -> bool:
    """Apply results to the subscriptions and the tip log (the caller commits); True if any device got it.

    ``decisions``: the push decisions by tip id, when the caller read a batch of them at once.
    """
    for row, _ in plan.devices:
        fresh = session.get(PushSubscription, row.id)
        if fresh is not None:
            push.mark_result(session=session, row=fresh, status=statuses.get(row.id or 0, "retry"))
    delivered = "delivered" in statuses.values()
    if decisions is None:
        push_timing.mark_delivered(session=session, tip_id=plan.tip_id, delivered=delivered)
    elif (decision := decisions.get(plan.tip_id)) is not None:
        decision.delivered = delivered
        session.add(decision)
    if not delivered:
        view = session.get(TipView, plan.tip_id)
        if view is not None:
            view.channel = "push_failed"
            session.add(view)
    return delivered


def _decide_batch(user_ids: list[int], inp: RoundInput, stats: RoundStats) -> list[Planned]:
    plans: list[Planned] = []
    later: list[ShadowJob] = []
    with session_scope() as session:
        users = session.exec(
            select(User).where(col(User.id).in_(user_ids), col(User.deleted_at).is_(None))
        ).all()
        signals = push_timing.load_signals(session=session, user_ids=list(user_ids), now=inp.now)
        devices = push.subscriptions_of(session=session, user_ids=list(user_ids))
        waits: list[PushDecision] = []
        inp = replace(inp, devices=devices, later=later, waits=waits)
        for user in users:
            stats.users += 1
            mark = len(later)
            try:
                assert user.id is not None
                outcome = decide(session=session, user=user, sig=signals[user.id], inp=inp)
            except Exception:  # one user's failure never stops the round
                log.exception("push decision failed for user %s", user.id)
                session.rollback()
                del later[mark:]  # its tip was rolled back: no shadow rows for it
                outcome = "error"
            if isinstance(outcome, str):
                stats.skipped[outcome] += 1
            else:
                plans.append(outcome)
        session.add_all(waits)
        session.commit()
    shadows.start(later)  # the shadow policies' picks, scored and logged off the decide path
    return plans


def _record_batch(plans: list[Planned], sent: list[dict[int, str]], stats: RoundStats) -> list[bool]:
    if not plans:
        return []
    with session_scope() as session:
        outcomes = []
        rows = [row.id for plan in plans for row, _ in plan.devices]
        session.exec(select(PushSubscription).where(col(PushSubscription.id).in_(rows))).all()  # one read
        decisions = push_timing.decisions_of(session=session, tip_ids=[p.tip_id for p in plans])
        for plan, statuses in zip(plans, sent, strict=True):
            stats.results.update(statuses.values())
            outcomes.append(record(session=session, plan=plan, statuses=statuses, decisions=decisions))
        session.commit()  # one commit per batch, not per push
    stats.sent += sum(outcomes)
    return outcomes


def _worth_reading(user_ids: list[int], inp: RoundInput) -> list[int]:
    """The users whom no hard rule but the calendar excludes now: only their calendars are read.

    The same `_hard_rule` as the decision, on the rules' own signals and without a calendar:
    quiet hours, the daily cap, the minimum gap and the decision spacing.
    """
    with session_scope() as session:
        users = session.exec(
            select(User).where(col(User.id).in_(user_ids), col(User.deleted_at).is_(None))
        ).all()
        signals = push_timing.load_rule_signals(session=session, user_ids=list(user_ids), now=inp.now)
        return [
            u.id for u in users if u.id is not None and _hard_rule(u, signals[u.id], NO_CALENDAR, inp) is None
        ]


async def _calendars(user_ids: list[int], now: datetime, settings: Settings) -> dict[int, list | None]:
    """Busy blocks of the batch's users who may get a push now (see `_worth_reading`)."""
    if calendar.config() is None:  # as `calendar.busy_many`: nothing to read, no screen either
        return {}
    inp = RoundInput(now, settings, {}, random.random)
    wanted = await offload.slow(_worth_reading, user_ids, inp)
    return await calendar.busy_many(wanted, now)


async def run_round(
    *,
    sender: WebPushSender,
    now: datetime | None = None,
    settings: Settings | None = None,
    draw: Callable[[], float] = random.random,
) -> RoundStats:
    """One decide-and-deliver pass over every subscribed user.

    The database work (decisions, recording) runs in a worker thread, batch by batch, so a round
    over many users never stalls the server's event loop; only the sends and the calendar reads
    run on the loop. ``draw`` gives the uniform numbers the timing model samples with.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    stats = RoundStats()

    def subscribed() -> list[int]:
        with session_scope() as session:
            return sorted(set(session.exec(select(PushSubscription.user_id)).all()))

    user_ids = await offload.slow(subscribed)
    batches = [user_ids[i : i + BATCH] for i in range(0, len(user_ids), BATCH)]
    # The next batch's calendars are read, and this batch's pushes sent, while the next batch is
    # decided; the database work (decide, record) stays one batch at a time.
    ahead = asyncio.create_task(_calendars(batches[0], now, settings)) if batches else None
    sending: asyncio.Task | None = None
    try:
        for i, batch in enumerate(batches):
            assert ahead is not None
            calendars = await ahead
            more = i + 1 < len(batches)
            ahead = asyncio.create_task(_calendars(batches[i + 1], now, settings)) if more else None
            plans = await offload.slow(
                _decide_batch, batch, RoundInput(now, settings, calendars, draw), stats
            )
            if sending is not None:
                await _finish(await sending, stats)
            sending = asyncio.create_task(_send(plans, sender))
    finally:  # pushes already sent are recorded, even when a later batch failed
        if sending is not None:
            await _finish(await sending, stats)
    return stats


async def _send(plans: list[Planned], sender: WebPushSender) -> tuple[list[Planned], list[dict[int, str]]]:
    return plans, list(await asyncio.gather(*(deliver(p, sender) for p in plans)))


async def _finish(done: tuple[list[Planned], list[dict[int, str]]], stats: RoundStats) -> None:
    """Record a sent batch's results, then announce each push."""
    plans, sent = done
    delivered = await offload.slow(_record_batch, plans, sent, stats)
    for plan, ok in zip(plans, delivered, strict=True):
        await _announce(plan, ok=ok)


async def _announce(plan: Planned, *, ok: bool) -> None:
    await publish(Event.of(PushSent(ok=ok, tip_id=plan.tip_id), user_id=plan.user_id))
    if ok:
        await publish(served_event(plan.rec, user_id=plan.user_id, channel="push"))
