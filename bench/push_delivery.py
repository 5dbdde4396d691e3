"""Bench: the push job's decide-and-send throughput for N subscribed users (default 10,000).

Usage:
    .venv/bin/python bench/push_delivery.py [--users 10000] [--calendars] [--profile out.pstats]

Builds a temporary SQLite database with N demo users (18 open tasks each) and one Web Push
subscription per user at the local push service (tests/fakes/push_service.py, which verifies the
VAPID JWT and decrypts every RFC 8291 message), then times one `run_round` at noon UTC: per user
the quiet-hours/cap/dedupe checks, one `recommend()` (LinUCB + shadow policies + logging) and one
encrypted, signed send. The fake service runs in the same process, so its decryption shares the
two cores with the sender: the number is a floor. With ``--calendars`` every user also has Google
Calendar connected at the fake FreeBusy API (tests/fakes/google_calendar.py, same process): each
decision reads the calendar (cache off; the first round also refreshes every access token), one
user in five is in a meeting (no push), and a second round two hours later runs the timing model.
With ``--profile`` both rounds run under cProfile: the event-loop thread and every worker-thread
batch (decide, record), merged into one pstats file (read it with ``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOON = datetime(2026, 11, 26, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--calendars", action="store_true", help="every user has Google Calendar connected (fake FreeBusy)"
    )
    parser.add_argument("--profile", help="write merged cProfile stats (loop + worker threads) here")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="oo-push-bench-")
    os.environ["OO_DATA_DIR"] = tmp
    from contextlib import nullcontext

    from tests.fakes.google_calendar import FakeGoogleCalendarServer
    from tests.fakes.push_service import FakePushService

    gcal_server = FakeGoogleCalendarServer() if args.calendars else nullcontext()
    with FakePushService() as service, gcal_server as gcal:
        if gcal is not None:
            os.environ.update(
                OO_GOOGLE_CLIENT_ID=gcal.fake.client_id,
                OO_GOOGLE_CLIENT_SECRET=gcal.fake.client_secret,
                OO_GOOGLE_DISCOVERY_URL=gcal.discovery_url,
                OO_GOOGLE_CALENDAR_API_URL=gcal.api_url,
                OO_GOOGLE_CALENDAR_CACHE_SECONDS="0",  # worst case: a calendar read per user per round
            )
        os.environ["OO_PUSH_ALLOWED_HOSTS"] = service.origin
        os.environ["OO_PUSH_DAILY_CAP"] = "3"
        from sqlmodel import Session, SQLModel

        import oo.models
        from oo import db
        from oo.integrations.webpush import WebPushSender
        from oo.services.push import delivery as push_delivery
        from oo.services.push import subscriptions as push
        from oo.services.sources.catalog import connect_demo

        SQLModel.metadata.create_all(db.get_engine())
        keys = push.vapid_keys()
        service.expected_key = keys.public_key
        t0 = time.perf_counter()
        with Session(db.get_engine()) as s:
            for _ in range(args.users):
                user = oo.models.User(name="bench", is_demo=True)
                s.add(user)
                s.flush()
                connect_demo(session=s, user_id=user.id)
                push.subscribe(session=s, user_id=user.id, data=service.new_subscription())
                if gcal is not None:
                    _connect_calendar(s, gcal, user.id)
            s.commit()
        print(f"setup: {args.users} users in {time.perf_counter() - t0:.1f} s")

        async def one_round(now: datetime):
            async with WebPushSender(
                keys.private_key,
                "mailto:bench@oo.test",
                allowed_hosts=push.allowed_hosts(),
                max_concurrency=200,
            ) as sender:
                return await push_delivery.run_round(sender=sender, now=now)

        profiles = _profile_threads(push_delivery) if args.profile else None
        # Round 1: everyone's first push; round 2 (2 h later): the timing model decides for each.
        for label, now in (("first", NOON), ("timing model", NOON + timedelta(hours=2))):
            accepted = service.counts()["accepted"]
            t0 = time.perf_counter()
            stats = asyncio.run(_maybe_profiled(one_round(now), profiles))
            elapsed = time.perf_counter() - t0
            print(
                f"round ({label}): {stats.users} users, {stats.sent} pushes sent, "
                f"results {dict(stats.results)}, skipped {dict(stats.skipped)}"
            )
            print(
                f"decide-and-send: {elapsed:.1f} s → {stats.users / elapsed:.0f} users/s "
                f"({service.counts()['accepted'] - accepted} messages verified and decrypted by the push service"
                + (f"; calendar requests {dict(gcal.fake.requests)})" if gcal is not None else ")")
            )
        if profiles is not None:
            import pstats

            merged = pstats.Stats(profiles[0])
            for prof in profiles[1:]:
                merged.add(prof)
            merged.dump_stats(args.profile)
            print(f"profile: {args.profile} ({len(profiles)} profiles merged)")


def _profile_threads(module) -> list:
    """Wrap the module's worker-thread batch functions so each call runs under its own cProfile."""
    import cProfile

    profiles: list = []

    def wrap(fn):
        def run(*args, **kwargs):
            prof = cProfile.Profile()
            profiles.append(prof)
            return prof.runcall(fn, *args, **kwargs)

        return run

    module._decide_batch = wrap(module._decide_batch)
    module._record_batch = wrap(module._record_batch)
    return profiles


async def _maybe_profiled(coro, profiles):
    """Await ``coro``, profiling the event-loop thread when ``profiles`` is a list."""
    if profiles is None:
        return await coro
    import cProfile

    prof = cProfile.Profile()
    profiles.append(prof)
    prof.enable()
    try:
        return await coro
    finally:
        prof.disable()


def _connect_calendar(session, gcal, user_id: int) -> None:
    """A stored calendar grant (access token expired, so the first read refreshes it)."""
    import json

    from oo.models import Integration
    from oo.services.platform.keyring import keyring

    subject = f"sub-bench-{user_id}"
    if user_id % 5 == 0:  # one in five is in a meeting at noon
        gcal.fake.set_busy(subject, [(NOON - timedelta(minutes=30), NOON + timedelta(minutes=30))])
    elif user_id % 5 == 1:  # one in five has a meeting soon
        gcal.fake.set_busy(subject, [(NOON + timedelta(minutes=20), NOON + timedelta(minutes=80))])
    refresh = gcal.fake.issue_refresh_token(subject)
    blob = keyring().encrypt(json.dumps({"refresh_token": refresh, "access_token": "", "expires_at": 0}))
    session.add(Integration(user_id=user_id, provider="google_calendar", credentials=blob))


if __name__ == "__main__":
    main()
