"""Job: decide and deliver Web Push tips (U7) every ``OO_PUSH_INTERVAL_SECONDS``."""

from __future__ import annotations

import logging

from oo.integrations.webpush import WebPushSender
from oo.services.push import delivery as push_delivery
from oo.services.push import subscriptions as push
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.jobs.push_tips")

JOB_ID = "push_tips"


def interval(settings: Settings) -> float:
    """Seconds between rounds."""
    return float(settings.push_interval_seconds)


def jitter(settings: Settings) -> float:
    """A little spread so several servers do not push in step."""
    return min(20.0, settings.push_interval_seconds / 10)


async def run() -> dict[str, object]:
    """One round; a server without VAPID keys in production skips (logged)."""
    settings = get_settings()
    try:
        keys = push.vapid_keys(settings)
    except push.PushNotConfigured as exc:
        log.info("push round skipped: %s", exc)
        return {"skipped": "not configured"}
    async with WebPushSender(
        keys.private_key, settings.vapid_subject, allowed_hosts=push.allowed_hosts(settings)
    ) as sender:
        stats = await push_delivery.run_round(sender=sender, settings=settings)
    return {
        "users": stats.users,
        "sent": stats.sent,
        "skipped": dict(stats.skipped),
        "results": dict(stats.results),
    }
