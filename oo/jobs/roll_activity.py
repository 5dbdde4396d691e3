"""Job: roll up the console's active users of each day that is over, before anyone opens the console.

Without it the first Overview after midnight rolls the new day itself (tens of milliseconds), and
the first Overview on a fresh deployment rolls the whole series (`services/admin/activity.py`).
"""

from __future__ import annotations

from oo import offload
from oo.db import session_scope
from oo.services.admin import activity
from oo.settings import Settings

JOB_ID = "roll_activity"


def interval(settings: Settings) -> float:
    """Hourly: a day becomes final once, `activity.GRACE` after midnight."""
    return 3600.0


def jitter(settings: Settings) -> float:
    """Spread over a minute."""
    return 60.0


async def run() -> dict[str, int]:
    """Roll up the days of the last `activity.ROLL_DAYS` not rolled yet; how many were."""

    def roll() -> dict[str, int]:
        with session_scope() as session:
            return {"days": activity.roll_recent(session=session)}

    return await offload.slow(roll)
