"""Health (A14): app, learner, database, event bus, scheduler and push, each ok / degraded / down.

Every check is independent and time-boxed by what it reads; a check that raises is reported as
``down`` with the error's class (logged with its traceback) and never hides the others.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.bus import PUSH_SENT, EventBus
from oo.models import EventRecord, PushSubscription, TipFeedback, TipView, utcnow
from oo.services.admin.portable_sql import json_key
from oo.services.push import subscriptions as push

log = logging.getLogger("oo.admin.health")
PROCESS_STARTED = utcnow()
FALLBACK_DEGRADED = 0.2  # more than a fifth of picks by the fallback: the learner is in trouble
OUTBOX_DEGRADED = timedelta(minutes=5)  # a reaction not learned from after this long


@dataclass(frozen=True)
class Check:
    """One component's state."""

    name: str
    status: str  # ok | degraded | down
    detail: str
    ms: float = 0.0


def _timed(name: str, fn: Callable[[], tuple[str, str]], session: Session | None = None) -> Check:
    start = time.perf_counter()
    try:
        status, detail = fn()
    except Exception as exc:
        log.exception("health check %s failed", name)
        status, detail = "down", f"check failed: {exc.__class__.__name__}"
        if session is not None:
            session.rollback()  # let the next check use the session again
    return Check(name, status, detail, round((time.perf_counter() - start) * 1000, 1))


def _app(started: datetime) -> tuple[str, str]:
    up = utcnow() - started
    hours, rem = divmod(int(up.total_seconds()), 3600)
    return "ok", f"up {hours} h {rem // 60} min · pid {os.getpid()} · Python {platform.python_version()}"


def _database(session: Session) -> tuple[str, str]:
    start = time.perf_counter()
    session.exec(select(sa.literal(1))).one()
    ms = (time.perf_counter() - start) * 1000
    return ("ok" if ms < 250 else "degraded"), f"{session.get_bind().dialect.name}, round trip {ms:.1f} ms"


def _learner(session: Session) -> tuple[str, str]:
    hour_ago = utcnow() - timedelta(hours=1)
    served, fallbacks, p_latency = session.exec(
        select(
            sa.func.count(),
            sa.func.sum(sa.case((col(TipView.fallback), 1), else_=0)),
            sa.func.max(TipView.latency_ms),
        ).where(col(TipView.served_at) >= hour_ago)
    ).one()
    stuck = session.exec(
        select(sa.func.count())
        .select_from(TipFeedback)
        .where(
            col(TipFeedback.applied_at).is_(None), col(TipFeedback.created_at) < utcnow() - OUTBOX_DEGRADED
        )
    ).one()
    rate = (fallbacks or 0) / served if served else 0.0
    status = "degraded" if rate > FALLBACK_DEGRADED or stuck else "ok"
    return status, (
        f"{served} tips in the last hour, fallback {rate:.0%}, slowest {p_latency or 0:.0f} ms; "
        f"{stuck} reactions waiting over {OUTBOX_DEGRADED.seconds // 60} min to be learned"
    )


def _bus(bus: EventBus, session: Session) -> tuple[str, str]:
    recent = session.exec(
        select(sa.func.count())
        .select_from(EventRecord)
        .where(col(EventRecord.occurred_at) >= utcnow() - timedelta(hours=1))
    ).one()
    kind = type(bus).__name__
    return ("ok" if bus.healthy else "down"), f"{kind}, {recent} events stored in the last hour"


def _scheduler(status: dict[str, Any]) -> tuple[str, str]:
    if not status.get("running"):
        return "down", "not running in this worker (OO_SCHEDULER=false or not started)"
    jobs = status.get("jobs") or []
    failing = [j.get("id", "?") for j in jobs if j.get("last_error")]
    role = "leader" if status.get("leader") else "standby"
    detail = f"{role} ({status.get('lock')}), {len(jobs)} jobs" + (
        f"; failing: {', '.join(failing)}" if failing else ""
    )
    return ("degraded" if failing else "ok"), detail


def _push(session: Session) -> tuple[str, str]:
    try:
        push.vapid_keys()
    except push.PushNotConfigured:
        return "degraded", "VAPID keys are not configured: Web Push is off"
    subs = session.exec(select(sa.func.count()).select_from(PushSubscription)).one()
    ok_flag = sa.cast(json_key(EventRecord.data, "ok"), sa.String)
    sent, ok = session.exec(
        select(sa.func.count(), sa.func.sum(sa.case((ok_flag.in_(("1", "true")), 1), else_=0))).where(
            EventRecord.subject == PUSH_SENT, col(EventRecord.occurred_at) >= utcnow() - timedelta(hours=24)
        )
    ).one()
    failed = sent - (ok or 0)
    status = "degraded" if sent and failed / sent > 0.5 else "ok"
    return status, f"{subs} subscriptions; last 24 h: {sent} pushes, {failed} failed"


def checks(
    *, session: Session, bus: EventBus, scheduler_status: dict[str, Any], started: datetime = PROCESS_STARTED
) -> list[Check]:
    """Every component's state, in display order."""
    return [
        _timed("app", lambda: _app(started)),
        _timed("learner", lambda: _learner(session), session),
        _timed("database", lambda: _database(session), session),
        _timed("event bus", lambda: _bus(bus, session), session),
        _timed("scheduler", lambda: _scheduler(scheduler_status)),
        _timed("push", lambda: _push(session), session),
    ]
