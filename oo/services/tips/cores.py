"""The synchronous cores of /tip's service calls (`oo.services.tips.serving`), and their runners.

`show_in` and `react_in` do a load's and a reaction's work on the caller's database session.
`show_here` and `react_here` run them in this process (its quick thread, `oo.offload`) with what
follows them: the shadow picks, and settling a held reaction when its undo window has passed.
`serving` calls those runners in the worker, or asks the tip engine (`oo.services.tips.engine`),
whose process calls the same runners.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlmodel import Session

from oo.db import session_scope
from oo.services.tips import feedback, reshow, shadows, undo
from oo.services.tips import refs as tip_refs
from oo.services.tips.candidates import zone
from oo.services.tips.explain import Recommendation
from oo.services.tips.feedback import FeedbackResult
from oo.services.tips.recommend import CHANNELS, recommend
from oo.services.tips.source_state import SourceState
from oo.services.tips.source_state import read as read_sources
from oo.services.tips.tip_log import ShadowJob
from oo.settings import get_settings

STALE, GATE = "stale", "gate"  # what `show`'s synchronous part asks for before it can go on


@dataclass(frozen=True)
class Shown:
    """A tip to show (or none), with the reference a reaction to it must carry."""

    tip: Recommendation
    ref: str  # `tip_refs.issue` of the tip; "" when there is none
    sources: SourceState


@dataclass(frozen=True)
class Reacted:
    """One reaction's outcome: the recorded row (``feedback.feedback_id`` names it) and what comes next."""

    feedback: FeedbackResult
    next: Shown | None  # None: a repeat of a recorded key (the next tip is already on screen), or not asked


def source_state(*, session: Session, user_id: int) -> SourceState:
    """Whether the user has any source, and whether one of them needs a reconnect."""
    return read_sources(session, user_id)[0]


def tz(timezone: str | None) -> tzinfo | None:
    """The zone of an IANA name (None: the pick reads the user's own)."""
    return zone(timezone) if timezone is not None else None


def show_in(
    session: Session,
    *,
    user_id: int,
    channel: str = "web",
    timezone: str | None = None,
    exclude_task_ids: Collection[int] = (),
    later: list[ShadowJob] | None = None,
) -> Shown:
    """The synchronous core of `show`, on the caller's session (``later``: see `recommend`)."""
    sources = source_state(session=session, user_id=user_id)
    return _pick(session, user_id, channel, timezone, exclude_task_ids, later, sources)


def _pick(
    session: Session,
    user_id: int,
    channel: str,
    timezone: str | None,
    exclude: Collection[int],
    later: list[ShadowJob] | None,
    sources: SourceState,
) -> Shown:
    rec = recommend(
        session=session,
        user_id=user_id,
        channel=channel,
        exclude_task_ids=exclude,
        tz=tz(timezone),
        later=later,
        integrations=sources.integrations,
    )
    ref = tip_refs.issue(user_id=user_id, tip_id=rec.tip_id) if rec.tip_id else ""
    return Shown(rec, ref, sources)


def react_in(
    session: Session,
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
    later: list[ShadowJob] | None = None,
) -> Reacted:
    """The synchronous core of `react`, on the caller's session (``later``: see `recommend`)."""
    if channel not in CHANNELS:
        raise feedback.FeedbackError(f"channel must be one of {CHANNELS}")
    if (tip_ref is None) == (tip_id is None):
        raise feedback.FeedbackError("name the tip by its reference (or, in the API, its id)")
    if tip_ref is not None:
        tip_id = tip_refs.verify(user_id=user_id, ref=tip_ref)
    assert tip_id is not None
    result = feedback.record(
        session=session,
        user_id=user_id,
        tip_id=tip_id,
        reaction=reaction,
        idempotency_key=key,
        origin=origin,
        snooze_hours=get_settings().snooze_hours,
        hold=undo.HOLD if undoable else None,
        write_behind=write_behind,
    )
    if result.duplicate or not show_next:
        return Reacted(result, None)
    exclude = (result.task_id,) if result.task_id is not None else ()
    return Reacted(
        result,
        show_in(
            session,
            user_id=user_id,
            channel=channel,
            timezone=timezone,
            exclude_task_ids=exclude,
            later=later,
        ),
    )


def _show_in(
    *,
    user_id: int,
    channel: str,
    timezone: str | None,
    exclude_task_ids: Collection[int],
    check: bool,
    reuse: tuple[Recommendation, str] | None,
    may_pick: bool,
    later: list[ShadowJob],
) -> Shown | str:
    with session_scope() as session:
        sources, stale = read_sources(session, user_id)
        if check and stale:
            return STALE
        if reuse is not None and reshow.still_current(session, user_id=user_id, tip=reuse[0]):
            return Shown(reuse[0], reuse[1], sources)
        if not may_pick:
            return GATE
        return _pick(session, user_id, channel, timezone, exclude_task_ids, later, sources)


async def show_here(**kwargs: Any) -> Shown | str:
    """`show`'s synchronous part in this process (the worker's quick thread, or the tip engine).

    With ``check``, a stale Todoist cache is answered `STALE` (refresh, then ask again); with
    ``reuse`` (the tip this worker last served), that tip while it is still current; without
    ``may_pick``, `GATE` instead of a new pick. A new pick's shadows are scored afterwards.
    """
    later: list[ShadowJob] = []  # the shadow policies are scored after the tip is served
    shown: Shown | str = await asyncio.to_thread(_show_in, later=later, **kwargs)
    shadows.start(later)
    return shown


EXPECTED = (feedback.FeedbackError,)  # refusals a caller handles (the engine logs no traceback for them)


def _in_session(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run ``fn(session, **kwargs)`` in one database session (in the calling worker thread)."""
    with session_scope() as session:
        return fn(session, **kwargs)


async def react_here(**kwargs: Any) -> Reacted:
    """`react`'s work in this process (the worker's quick thread, or the tip engine).

    The reaction is recorded and the next tip picked in one session (`react_in`); the next tip's
    shadows are scored afterwards, and a held reaction is settled when its undo window has passed.
    """
    later: list[ShadowJob] = []  # the shadow policies are scored after the next tip is served
    reacted: Reacted = await asyncio.to_thread(_in_session, react_in, later=later, **kwargs)
    shadows.start(later)
    result = reacted.feedback
    if kwargs.get("undoable") and result.first and not result.duplicate:
        undo.schedule_settle(  # only a Done can have queued an action at the source
            user_id=kwargs["user_id"], feedback_id=result.feedback_id, kick=kwargs["reaction"] == "done"
        )
    return reacted
