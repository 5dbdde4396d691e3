"""Bench: the push job's decide-and-send throughput for N subscribed users (default 10,000).

Usage:
    .venv/bin/python bench/push_delivery.py [--users 10000]

Builds a temporary SQLite database with N demo users (18 open tasks each) and one Web Push
subscription per user at the local push service (tests/fakes/push_service.py, which verifies the
VAPID JWT and decrypts every RFC 8291 message), then times one `run_round` at noon UTC: per user
the quiet-hours/cap/dedupe checks, one `recommend()` (LinUCB + shadow policies + logging) and one
encrypted, signed send. The fake service runs in the same process, so its decryption shares the
two cores with the sender: the number is a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="oo-push-bench-")
    os.environ["OO_DATA_DIR"] = tmp
    from tests.fakes.push_service import FakePushService

    with FakePushService() as service:
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
        print(f"setup: {args.users} users in {time.perf_counter() - t0:.1f} s")

        async def one_round():
            async with WebPushSender(
                keys.private_key,
                "mailto:bench@oo.test",
                allowed_hosts=push.allowed_hosts(),
                max_concurrency=200,
            ) as sender:
                return await push_delivery.run_round(
                    sender=sender, now=datetime(2026, 11, 26, 12, tzinfo=UTC)
                )

        t0 = time.perf_counter()
        stats = asyncio.run(one_round())
        elapsed = time.perf_counter() - t0
        print(
            f"round: {stats.users} users, {stats.sent} pushes sent, results {dict(stats.results)}, "
            f"skipped {dict(stats.skipped)}"
        )
        print(
            f"decide-and-send: {elapsed:.1f} s → {stats.users / elapsed:.0f} users/s "
            f"({service.counts()['accepted']} messages verified and decrypted by the push service)"
        )


if __name__ == "__main__":
    main()
