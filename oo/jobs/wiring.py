"""Everything the server starts, subscribes to and stops: the one place to read it, top to bottom.

`register(app)` is called once by the composition root (``oo/oo.py``). Reflex enters lifespan
tasks in registration order and leaves them in reverse, so the bus is up before anything
subscribes to it and is closed last.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import reflex as rx

from oo import offload
from oo.bus import TASK_COMPLETED, TIP_FEEDBACK, Event
from oo.db import session_scope, sqlite_checkpointer
from oo.jobs import scheduler
from oo.services.accounts import session_cache
from oo.services.advice import library as advice_library
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner, policies
from oo.services.platform import event_bus
from oo.services.push import calendar_prefetch
from oo.services.sources import actions as source_actions
from oo.services.sources.todoist import connection as todoist
from oo.services.tips import delayed_reward, recommend, shadows
from oo.services.tips import engine as tip_engine

log = logging.getLogger("oo.wiring")

# Every bus subscription of the app: subject -> handler (each handler logs its own failures).
SUBSCRIPTIONS: list[tuple[str, Callable[[Event], Awaitable[None]]]] = [
    # A task completed at its source after it was shown: a delayed Done on its tip.
    (TASK_COMPLETED, delayed_reward.on_task_completed),
    # A Done in oO: close the task at its source now instead of at the next outbox run.
    (TIP_FEEDBACK, source_actions.on_tip_feedback),
]


@asynccontextmanager
async def subscriptions() -> AsyncIterator[None]:
    """Lifespan task: subscribe every handler in `SUBSCRIPTIONS`; unsubscribe at shutdown."""
    bus = event_bus.bus()
    subs = [bus.subscribe(subject, handler) for subject, handler in SUBSCRIPTIONS]
    try:
        yield
    finally:
        for sub in subs:
            sub.unsubscribe()


def _prepare_learning() -> None:
    with session_scope() as session:
        policies.ensure_registry(session=session)
        advice_library.seed(session=session)  # idempotent: built-in advice up to the shipped version
        applied = learner.apply_pending(session=session, older_than=timedelta(0))
    if applied:
        log.info("applied %s reactions left pending by the last run", applied)
    recommend.warm_up()


@asynccontextmanager
async def learning_startup() -> AsyncIterator[None]:
    """Lifespan task: seed the policy registry and the advice library, apply reactions a crash left pending, warm up scoring.

    A failure here (a missing migration, say) must not stop the server: picks fall back anyway.
    """
    try:
        await offload.slow(_prepare_learning)
    except Exception:
        log.exception("learning start-up housekeeping failed")
    try:
        yield
    finally:  # the shadow picks of the last tips served are written before the process ends
        if not await offload.slow(shadows.drain, 5.0):
            log.warning("shadow picks still queued at shutdown were not logged")


@asynccontextmanager
async def outside_clients() -> AsyncIterator[None]:
    """Lifespan task: close the shared HTTP clients to outside services at shutdown."""
    try:
        yield
    finally:
        await todoist.close_http()


def register(app: rx.App) -> None:
    """Register the lifespan tasks in the order they start."""
    app.register_lifespan_task(offload.lifespan)  # 0. quick calls on one thread, slow ones on their own pool
    app.register_lifespan_task(event_bus.bus_lifespan)  # 1. the event bus (in-process or NATS)
    app.register_lifespan_task(subscriptions)  # 2. its subscribers
    app.register_lifespan_task(sqlite_checkpointer)  # 3. WAL checkpoints off the commit path
    app.register_lifespan_task(learning_startup)  # 4. registry, pending reactions, warm-up
    app.register_lifespan_task(outside_clients)  # 5. shared HTTP clients, closed after the jobs stop
    app.register_lifespan_task(scheduler.lifespan)  # 6. the periodic jobs (on the leader worker)
    app.register_lifespan_task(session_cache.listener)  # 7. other workers' session revocations (Redis)
    app.register_lifespan_task(learner_hot.flusher)  # 8. models written behind (stops first: a last flush)
    app.register_lifespan_task(calendar_prefetch.lifespan)  # 9. picks' background calendar reads
    app.register_lifespan_task(tip_engine.lifespan)  # 10. /tip's service calls in a process of their own
