"""Bench: the service part of /tip in process — one tip load, one reaction, the write-behind flush.

Usage:
    .venv/bin/python bench/reaction_path.py            # 50 demo users, 1,600 requests, ~30 s

No server, no websocket: `serving.show_in` (a tip load) and `serving.react_in` (Helpful, with the
next tip) on a fresh SQLite database in a temporary directory, alternating per user as the load
bench's mix does, and `learning.hot.flush` every 50 requests (as the server's flusher batches
what arrived in 0.25 s). Prints median and mean wall time per call and the flush time per reaction.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["OO_DATA_DIR"] = tempfile.mkdtemp(prefix="oo-bench-")

from sqlmodel import SQLModel  # noqa: E402

import oo.models  # noqa: E402, F401
from oo import db  # noqa: E402
from oo.db import session_scope  # noqa: E402
from oo.services.accounts import sessions as accounts  # noqa: E402
from oo.services.learning import hot  # noqa: E402
from oo.services.sources import catalog as sources  # noqa: E402
from oo.services.tips import serving  # noqa: E402

USERS, REQUESTS, FLUSH_EVERY = 50, 1600, 50


def main() -> int:
    """Run and print."""
    gc.set_threshold(50_000, 20, 100)  # as the server
    SQLModel.metadata.create_all(db.get_engine())
    with session_scope() as s:
        uids = []
        for _ in range(USERS):
            user = accounts.create_demo_user(session=s)
            sources.connect_demo(session=s, user_id=user.id)
            uids.append(user.id)
    refs: dict[int, str] = {}
    times: dict[str, list[float]] = {"load": [], "react": []}
    flushed = 0.0
    for i in range(REQUESTS):
        uid = uids[i % USERS]
        t = time.perf_counter()
        with session_scope() as s:
            if (i // USERS) % 2 == 0:
                kind, shown = "load", serving.show_in(s, user_id=uid, timezone="UTC")
            else:
                reacted = serving.react_in(
                    s, user_id=uid, reaction="helpful", key=f"k{i}", tip_ref=refs[uid], timezone="UTC"
                )
                kind, shown = "react", reacted.next
        times[kind].append(time.perf_counter() - t)
        refs[uid] = shown.ref if shown else ""
        if i % FLUSH_EVERY == FLUSH_EVERY - 1:
            t = time.perf_counter()
            hot.flush()
            flushed += time.perf_counter() - t
    for kind, values in times.items():
        ms = [v * 1000 for v in values]
        print(
            f"{kind:5s} n={len(ms)} median {statistics.median(ms):.2f} ms  mean {statistics.mean(ms):.2f} ms"
        )
    print(f"flush {flushed / len(times['react']) * 1000:.2f} ms per reaction (every {FLUSH_EVERY} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
