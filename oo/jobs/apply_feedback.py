"""Job: the feedback outbox — teach the learner reactions left pending by a crash or a conflict."""

from __future__ import annotations

from oo import offload
from oo.db import session_scope
from oo.services.learning import learner
from oo.settings import Settings

JOB_ID = "apply_feedback"


def interval(settings: Settings) -> float:
    """Every minute; a reaction is normally learned at once, so this is rarely busy."""
    return 60.0


def jitter(settings: Settings) -> float:
    """A little spread between workers' timers."""
    return 5.0


async def run() -> dict[str, int]:
    """Apply pending reactions older than 30 s (younger ones are still being applied inline)."""

    def apply() -> int:
        with session_scope() as session:
            return learner.apply_pending(session=session)

    return {"applied": await offload.slow(apply)}
