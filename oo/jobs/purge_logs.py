"""Job: 30-day retention of the recommendation log, the feature log and the event store."""

from __future__ import annotations

import asyncio

from oo.db import session_scope
from oo.services.platform import retention
from oo.settings import Settings

JOB_ID = "purge_logs"


def interval(settings: Settings) -> float:
    """Hourly: rows expire by the day, so this keeps each delete small."""
    return 3600.0


def jitter(settings: Settings) -> float:
    """Spread over a minute."""
    return 60.0


async def run() -> dict[str, int]:
    """Delete (or clear) what is older than the retention window."""

    def purge() -> dict[str, int]:
        with session_scope() as session:
            return retention.purge(session=session)

    return await asyncio.to_thread(purge)
