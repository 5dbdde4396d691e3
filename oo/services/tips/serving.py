"""The tip as the app serves it: one service call per user action, off the event loop.

/tip (TipState), push and the JSON API call these coroutines; each runs its synchronous core
(`oo.services.tips.cores`) with one database session off the event loop — in the tip engine's
process when the server runs one (`oo.services.tips.engine`, ``OO_TIP_ENGINE=process``), else on
the worker's quick thread — then publishes ``signals.tip.served`` / ``signals.tip.feedback``:

* `show` — pick, log and return the user's next tip with its reference and the source state
  (opening /tip, Retry);
* `react` — record a reaction once (one idempotency check), teach the learner, and return the
  next tip and the source state (a Done / Snooze / Dismiss / Helpful / Not helpful);
* `next_tip` — pick only (push, ``POST /api/v1/recommend``).

A reaction names the tip it answers by the reference served with it (`oo.services.tips.refs`),
never by what the tab's saved state remembers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from oo.db import session_scope
from oo.services.platform import event_bus as events
from oo.services.sources import actions as source_actions
from oo.services.sources.todoist import sync as todoist_sync
from oo.services.tips import cores, engine, feedback, reshow, undo
from oo.services.tips import refs as tip_refs
from oo.services.tips.cores import Reacted as Reacted
from oo.services.tips.cores import Shown as Shown
from oo.services.tips.cores import react_in as react_in
from oo.services.tips.cores import show_in as show_in
from oo.services.tips.cores import source_state as source_state
from oo.services.tips.explain import Recommendation
from oo.services.tips.feedback import FeedbackResult
from oo.services.tips.recommend import recommend, served_event
from oo.services.tips.source_state import SourceState as SourceState

log = logging.getLogger("oo.serving")

Gate = Callable[[], Awaitable[bool]]  # asked before a new pick (`show`); False: `Throttled`


async def _announce(user_id: int, channel: str, shown: Shown | None, result: FeedbackResult | None) -> None:
    if result is not None and not result.duplicate:
        await events.publish(feedback.feedback_event(result, user_id=user_id))
    if shown is not None and not shown.tip.empty:
        await events.publish(served_event(shown.tip, user_id=user_id, channel=channel))


async def show(
    *,
    user_id: int,
    channel: str = "web",
    timezone: str | None = None,
    exclude_task_ids: Collection[int] = (),
    refresh: bool = True,
    again: bool = False,
    gate: Gate | None = None,
) -> Shown:
    """Pick, log and announce the user's next tip; with its reference and the source state.

    Todoist tasks cached longer than `todoist_sync.STALE_SECONDS` are refreshed first (within a
    budget; never raises); the freshness check shares the pick's database session. With
    ``again`` (a web load), the tip this process last served the user is shown again instead of
    a new pick while `reshow` finds it still current (nothing is logged or announced then).
    ``gate`` is awaited once before a new pick (never for a reshow); when it says no, `Throttled`
    is raised and nothing is picked (the per-user load limit: only a new pick writes rows).
    Loads of one user that overlap share one outcome (two tabs opened at once see one tip).
    """
    if not (again and channel == "web" and not exclude_task_ids):
        return await _show(user_id, channel, timezone, exclude_task_ids, refresh, None, gate)
    running = _loading.get(user_id)
    if running is not None:
        return await asyncio.shield(running)
    running = asyncio.ensure_future(
        _show(user_id, channel, timezone, (), refresh, reshow.recalled(user_id), gate)
    )
    _loading[user_id] = running
    try:
        return await asyncio.shield(running)
    finally:
        if _loading.get(user_id) is running:
            del _loading[user_id]


_loading: dict[int, asyncio.Future[Shown]] = {}  # user id -> the load in flight


async def _show(
    user_id: int,
    channel: str,
    timezone: str | None,
    exclude_task_ids: Collection[int],
    refresh: bool,
    remembered: tuple[Recommendation, str] | None,
    gate: Gate | None,
) -> Shown:
    if remembered is not None:  # batched with other users' reloads (`reshow.check`)
        fits, sources, stale = await reshow.check(user_id, remembered[0])
        if fits and not (refresh and stale):
            return Shown(remembered[0], remembered[1], sources)  # shown again: nothing to log
        remembered = remembered if fits else None  # stale: refreshed below, then checked again

    check, may_pick = refresh, gate is None
    while True:
        if not may_pick and remembered is None:
            may_pick = await _pass(gate)
        shown = await _engine_or_here(
            "show", cores.show_here, user_id=user_id, channel=channel, timezone=timezone,
            exclude_task_ids=tuple(exclude_task_ids), check=check, reuse=remembered, may_pick=may_pick,
        )  # fmt: skip
        if shown == cores.STALE:
            await todoist_sync.refresh_if_stale(user_id=user_id)
            check = False
        elif shown == cores.GATE:
            remembered = None  # not current any more: a new pick, if the gate lets it through
        else:
            break
    assert isinstance(shown, Shown)
    if remembered is not None and shown.tip == remembered[0]:
        return shown  # shown again: no new decision to log or announce
    if channel == "web":
        reshow.remember(user_id, shown.tip, shown.ref)
    await _announce(user_id, channel, shown, None)
    return shown


async def _engine_or_here(name: str, here: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
    """``here(**kwargs)`` in the tip engine when the server runs one (`engine`), else in this process."""
    running = engine.client()
    if running is not None:
        try:
            return await running.call(name, kwargs)
        except engine.EngineUnavailable:
            log.warning("the tip engine is unavailable; %s runs in the worker", name)
    return await here(**kwargs)


class Throttled(Exception):
    """`show`'s ``gate`` refused a new pick."""


async def _pass(gate: Gate | None) -> bool:
    if gate is not None and not await gate():
        raise Throttled
    return True


async def react(
    *,
    user_id: int,
    reaction: str,
    key: str,
    tip_ref: str | None = None,
    tip_id: str | None = None,
    channel: str = "web",
    origin: str = "user",
    timezone: str | None = None,
    show_next: bool = True,
    undoable: bool = False,
    write_behind: bool = True,
) -> Reacted:
    """One reaction, one call: record it once, teach the learner, and pick the next tip.

    Args:
        user_id: The authenticated user.
        reaction: One of `feedback.REACTIONS`.
        key: The client's idempotency key (1-64 of ``[A-Za-z0-9_-]``); the same key counts once.
        tip_ref: The reference served with the tip (/tip, push). Checked to be this user's.
        tip_id: Instead of ``tip_ref``, the bare tip id (the JSON API, where the tip row's owner
            is the check).
        channel: Where the reaction came from (``web``, ``push``, ``api``); the next tip is
            picked for that channel.
        origin: ``user`` (changes the task) or ``admin``.
        timezone: The user's time zone for the next pick (read from the user when None).
        show_next: Pick the next tip (False for callers that show none, e.g. the API).
        write_behind: Teach the in-memory models now and persist them with the next flush
            (`oo.services.learning.hot`); False writes them before returning (the API, whose
            answer says ``learned``).
        undoable: Hold the reaction for its undo window (/tip): learned and carried out at the
            source only when `undo.HOLD` has passed, unless `undo` takes it back first.

    Returns:
        The recorded reaction and, unless it repeats a recorded key or none was asked, the next tip.

    Raises:
        feedback.FeedbackError: For invalid input or a reference that is not the caller's
            (`feedback.TipNotFound`), or a reused key (`feedback.IdempotencyConflict`).
    """
    reacted: Reacted = await _engine_or_here(
        "react", cores.react_here, user_id=user_id, reaction=reaction, key=key, tip_ref=tip_ref,
        tip_id=tip_id, channel=channel, origin=origin, timezone=timezone, show_next=show_next,
        undoable=undoable, write_behind=write_behind,
    )  # fmt: skip
    if channel == "web" and reacted.next is not None:
        reshow.remember(user_id, reacted.next.tip, reacted.next.ref)
    await _announce(user_id, channel, reacted.next, reacted.feedback)
    return reacted


async def take_back(*, user_id: int, tip_ref: str, key: str) -> undo.Withdrawn:
    """Undo, one call: withdraw a held reaction to the tip ``tip_ref`` names (the caller's own).

    The task gets its open state back and a held close at the source is cancelled (or, if it
    already went out, the task is reopened there now).

    Raises:
        feedback.FeedbackError: For a reference that is not the caller's, or a malformed key;
            `undo.NothingToUndo` / `undo.TooLateToUndo` when there is nothing (left) to take back.
    """

    def run() -> undo.Withdrawn:
        tip_id = tip_refs.verify(user_id=user_id, ref=tip_ref)
        with session_scope() as session:
            return undo.withdraw(session=session, user_id=user_id, tip_id=tip_id, key=key)

    withdrawn = await asyncio.to_thread(run)
    reshow.forget(user_id)  # the page shows the restored tip again: a reload picks afresh
    if withdrawn.reopen:
        source_actions.kick(user_id=user_id)
    return withdrawn


async def next_tip(
    *,
    user_id: int,
    channel: str = "web",
    timezone: str | None = None,
    exclude_task_ids: Collection[int] = (),
) -> Recommendation:
    """Pick, log and announce the user's next tip (without the source state)."""

    def pick() -> Recommendation:
        with session_scope() as session:
            return recommend(
                session=session,
                user_id=user_id,
                channel=channel,
                exclude_task_ids=exclude_task_ids,
                tz=cores.tz(timezone),
            )

    rec = await asyncio.to_thread(pick)
    if not rec.empty:
        await events.publish(served_event(rec, user_id=user_id, channel=channel))
    return rec
