"""The pushed tip's two ways back: opening it (``/tip?tip=<id>``) and a Done / Snooze on the notification.

`open_tip` shows the pushed tip itself while it is open (no reaction yet, its task still open and
not hidden) and the caller's — another user's tip or an unknown id looks exactly like a finished
one: the next pick is shown instead. Opening marks the push decision as opened (the funnel, and
the timing model's "opened without reaction" reward). `react_from_notification` records a
reaction on the pushed tip with channel ``push`` through the one reaction path (`tips.react`),
and marks the decision as answered from the notification.
"""

from __future__ import annotations

import asyncio
import json
import re

from sqlmodel import Session

from oo.db import session_scope
from oo.models import Task, TipView, utcnow
from oo.services.push import timing as push_timing
from oo.services.tips import refs as tip_refs
from oo.services.tips import serving as tips
from oo.services.tips.explain import Explanation, Recommendation
from oo.services.tips.feedback import FeedbackError

TIP_ID_RE = re.compile(r"^[0-9a-f]{32}$")
NOTIFICATION_REACTIONS = ("done", "snooze")


def _open_view(session: Session, user_id: int, tip_id: str) -> Recommendation | None:
    view = session.get(TipView, tip_id)
    if view is None or view.user_id != user_id or view.reaction is not None or view.task_id is None:
        return None
    task = session.get(Task, view.task_id)
    now = utcnow()
    if task is None or task.user_id != user_id or task.completed_at is not None:
        return None
    if task.snoozed_until is not None and task.snoozed_until > now:
        return None
    try:
        summary = str(json.loads(view.explanation).get("summary", ""))
    except (ValueError, AttributeError):
        summary = ""
    return Recommendation(
        tip_id=view.id,
        text=task.content,
        kind=view.kind,
        task_id=task.id,
        source=task.source,
        external_id=task.external_id,
        url=task.url,
        policy=view.policy,
        policy_version=view.policy_version,
        score=view.score,
        fallback=view.fallback,
        explanation=Explanation(summary),
        served_at=view.served_at,
    )


async def open_tip(
    *, user_id: int, tip_id: object, timezone: str | None = None, gate: tips.Gate | None = None
) -> tips.Shown:
    """The pushed tip if it is open and the caller's, else the next pick (`tips.show`, ``gate``)."""
    if isinstance(tip_id, str) and TIP_ID_RE.match(tip_id):

        def find() -> tips.Shown | None:
            with session_scope() as session:
                rec = _open_view(session, user_id, tip_id)
                if rec is None:
                    return None
                push_timing.mark_opened(session=session, user_id=user_id, tip_id=tip_id)
                ref = tip_refs.issue(user_id=user_id, tip_id=tip_id)
                return tips.Shown(rec, ref, tips.source_state(session=session, user_id=user_id))

        shown = await asyncio.to_thread(find)
        if shown is not None:
            return shown
    return await tips.show(user_id=user_id, timezone=timezone, gate=gate)


async def react_from_notification(*, user_id: int, ref: str, reaction: str, key: str) -> tips.Reacted:
    """Done / Snooze pressed on the notification: recorded once on the pushed tip, channel push.

    Raises:
        feedback.FeedbackError: Bad input, a reference that is not the caller's, or a reused key.
    """
    if reaction not in NOTIFICATION_REACTIONS:
        raise FeedbackError(f"reaction must be one of {NOTIFICATION_REACTIONS}")
    reacted = await tips.react(
        user_id=user_id, reaction=reaction, key=key, tip_ref=ref, channel="push", show_next=False
    )

    def mark() -> None:
        with session_scope() as session:
            push_timing.mark_reacted_from_notification(
                session=session, user_id=user_id, tip_id=reacted.feedback.tip_id, reaction=reaction
            )

    if not reacted.feedback.duplicate:
        await asyncio.to_thread(mark)
    return reacted
