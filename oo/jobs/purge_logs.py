"""Job: retention of the recommendation and feature logs, the event store (30 days) and push decisions (90)."""

from __future__ import annotations

from oo import offload
from oo.db import session_scope
from oo.services.platform import retention
from oo.settings import Settings, get_settings

JOB_ID = "purge_logs"


def interval(settings: Settings) -> float:
    """Hourly: rows expire by the day, so this keeps each delete small."""
    return 3600.0


def jitter(settings: Settings) -> float:
    """Spread over a minute."""
    return 60.0


async def run() -> dict[str, int]:
    """Delete (or clear) what is older than the retention windows."""
    push_days = get_settings().push_decision_retention_days

    def purge() -> dict[str, int]:
        with session_scope() as session:
            logs = retention.purge(session=session)
            return {**logs, **retention.purge_push_decisions(session=session, days=push_days)}

    return await offload.slow(purge)
