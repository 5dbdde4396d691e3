"""Job: carry out due "close at source" actions (Done in oO closes the task in Todoist)."""

from __future__ import annotations

from dataclasses import asdict

from oo.services.sources import actions as source_actions
from oo.settings import Settings

JOB_ID = "run_source_actions"


def interval(settings: Settings) -> float:
    """Every few seconds: a Done also kicks the user's actions at once, this catches the rest."""
    return 5.0


def jitter(settings: Settings) -> float:
    """A little spread between workers' timers."""
    return 1.0


async def run() -> dict[str, int]:
    """One pass over the due actions of every user."""
    return asdict(await source_actions.run_due())
