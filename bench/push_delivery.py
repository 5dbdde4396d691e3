"""Bench: the push job's decide-and-send throughput for N subscribed users (default 10,000).

Usage:
    .venv/bin/python bench/push_delivery.py [--users 10000] [--calendars] [--fakes-inline]
        [--profile out.pstats]

Builds a temporary SQLite database with N demo users (18 open tasks each) and one Web Push
subscription per user at the local push service (tests/fakes/push_service.py, which verifies the
VAPID JWT and decrypts every RFC 8291 message), then times one `run_round` at noon UTC: per user
the quiet-hours/cap/dedupe checks, one `recommend()` (LinUCB + shadow policies + logging) and one
encrypted, signed send. The round counts as done when the shadow policies' picks (scored by a
writer thread after each batch) are all logged. The fakes run in a child process
(bench/push_fakes.py) so that the number measures oO, not oO plus its fakes on one GIL;
``--fakes-inline`` runs them in this process as before. With ``--calendars`` every user also has
Google Calendar connected at the fake FreeBusy API (tests/fakes/google_calendar.py): each
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
    parser.add_argument(
        "--fakes-inline",
        action="store_true",
        help="run the fakes in this process (sharing its GIL), as before",
    )
    parser.add_argument("--profile", help="write merged cProfile stats (loop + worker threads) here")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="oo-push-bench-")
    os.environ["OO_DATA_DIR"] = tmp
    from bench.push_fakes import FakesProcess, InlineFakes

    host = InlineFakes if args.fakes_inline else FakesProcess
    with host(calendars=args.calendars) as fakes:
        _configure(fakes.endpoints, calendars=args.calendars)
        keys = _setup(fakes, args.users, calendars=args.calendars)
        _rounds(fakes, keys, calendars=args.calendars, profile=args.profile)


def _configure(ends, *, calendars: bool) -> None:
    """Point oO at the fakes (before oO reads its settings)."""
    assert ends is not None
    if calendars:
        os.environ.update(
            OO_GOOGLE_CLIENT_ID=ends.gcal_client_id,
            OO_GOOGLE_CLIENT_SECRET=ends.gcal_client_secret,
            OO_GOOGLE_DISCOVERY_URL=ends.gcal_discovery_url,
            OO_GOOGLE_CALENDAR_API_URL=ends.gcal_api_url,
            OO_GOOGLE_CALENDAR_CACHE_SECONDS="0",  # worst case: a calendar read per user per round
        )
    os.environ["OO_PUSH_ALLOWED_HOSTS"] = ends.push_origin
    os.environ["OO_PUSH_DAILY_CAP"] = "3"


def _setup(fakes, users: int, *, calendars: bool):
    """The database with ``users`` subscribed demo users; returns the VAPID keys."""
    from sqlmodel import Session, SQLModel

    from oo import db
    from oo.services.push import subscriptions as push

    SQLModel.metadata.create_all(db.get_engine())
    keys = push.vapid_keys()
    fakes.call("expect", keys.public_key)
    t0 = time.perf_counter()
    with Session(db.get_engine()) as s:
        for first in range(0, users, 1000):
            _add_users(s, fakes, min(1000, users - first), calendars=calendars)
        s.commit()
    print(f"setup: {users} users in {time.perf_counter() - t0:.1f} s")
    return keys


async def _one_round(keys, now: datetime):
    from oo.integrations.webpush import WebPushSender
    from oo.services.push import delivery as push_delivery
    from oo.services.push import subscriptions as push
    from oo.services.tips import shadows

    async with WebPushSender(
        keys.private_key,
        "mailto:bench@oo.test",
        allowed_hosts=push.allowed_hosts(),
        max_concurrency=200,
    ) as sender:
        stats = await push_delivery.run_round(sender=sender, now=now)
    # Shadow picks are scored by a writer thread after each batch: the round counts as done only
    # when every one is logged (so their CPU is in the number).
    if not await asyncio.to_thread(shadows.drain, 600.0):
        raise RuntimeError("shadow picks not written within 10 minutes")
    return stats


def _rounds(fakes, keys, *, calendars: bool, profile: str | None) -> None:
    """Round 1: everyone's first push; round 2 (2 h later): the timing model decides for each."""
    from oo.services.push import delivery as push_delivery

    profiles = _profile_threads(push_delivery) if profile else None
    for label, now in (("first", NOON), ("timing model", NOON + timedelta(hours=2))):
        accepted = fakes.call("counts")["accepted"]
        t0 = time.perf_counter()
        stats = asyncio.run(_maybe_profiled(_one_round(keys, now), profiles))
        elapsed = time.perf_counter() - t0
        print(
            f"round ({label}): {stats.users} users, {stats.sent} pushes sent, "
            f"results {dict(stats.results)}, skipped {dict(stats.skipped)}"
        )
        print(
            f"decide-and-send: {elapsed:.1f} s → {stats.users / elapsed:.0f} users/s "
            f"({fakes.call('counts')['accepted'] - accepted} messages verified and decrypted by the push service"
            + (f"; calendar requests {fakes.call('calendar_requests')})" if calendars else ")")
        )
    if profiles is not None:
        import pstats

        merged = pstats.Stats(profiles[0])
        for prof in profiles[1:]:
            merged.add(prof)
        merged.dump_stats(profile)
        print(f"profile: {profile} ({len(profiles)} profiles merged)")


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


def _add_users(session, fakes, n: int, *, calendars: bool) -> None:
    """``n`` demo users, each with a push subscription (and a calendar grant) at the fakes."""
    import json

    import oo.models
    from oo.models import Integration
    from oo.services.platform.keyring import keyring
    from oo.services.push import subscriptions as push
    from oo.services.sources.catalog import connect_demo

    users = []
    for sub in fakes.call("subscriptions", n):
        user = oo.models.User(name="bench", is_demo=True)
        session.add(user)
        session.flush()
        connect_demo(session=session, user_id=user.id)
        push.subscribe(session=session, user_id=user.id, data=sub)
        users.append(user.id)
    if not calendars:
        return
    refresh = fakes.call("grants", [(f"sub-bench-{uid}", _busy(uid)) for uid in users])
    for uid, token in zip(users, refresh, strict=True):  # access token expired: the first read refreshes
        blob = keyring().encrypt(json.dumps({"refresh_token": token, "access_token": "", "expires_at": 0}))
        session.add(Integration(user_id=uid, provider="google_calendar", credentials=blob))


def _busy(user_id: int) -> list[tuple[datetime, datetime]]:
    if user_id % 5 == 0:  # one in five is in a meeting at noon
        return [(NOON - timedelta(minutes=30), NOON + timedelta(minutes=30))]
    if user_id % 5 == 1:  # one in five has a meeting soon
        return [(NOON + timedelta(minutes=20), NOON + timedelta(minutes=80))]
    return []


if __name__ == "__main__":
    main()
