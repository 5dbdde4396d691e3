"""Bench: the service part of /tip in process — one tip load, one reaction, the write-behind flush.

Usage:
    .venv/bin/python bench/reaction_path.py            # 50 demo users, 1,600 requests, ~30 s
    .venv/bin/python bench/reaction_path.py --served   # as /tip serves: advice, held reactions, shadows after

No server, no websocket: `serving.show_in` (a tip load) and `serving.react_in` (Helpful, with the
next tip) on a fresh SQLite database in a temporary directory, alternating per user as the load
bench's mix does, and `learning.hot.flush` every 50 requests (as the server's flusher batches
what arrived in 0.25 s). Prints median and mean wall time per call and the flush time per reaction.

``--served`` does what the server does around the same calls: the advice library is seeded (so
each pick first decides task or advice, and the kind learner learns), reactions are held for Undo
(``undoable``) and settled in batches (`undo._settle`, the settling task's work), and the shadow
policies are scored after the pick (`shadows.run`, the shadow writer's work). It then prints, per
reaction, what each of those later steps costs, and their sum with the reaction itself: the
service CPU one Helpful costs the server, the part of the load bench's mix that is oO's own.
"""

from __future__ import annotations

import argparse
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
from oo.services.advice import library  # noqa: E402
from oo.services.learning import hot  # noqa: E402
from oo.services.sources import catalog as sources  # noqa: E402
from oo.services.tips import serving, shadows, undo  # noqa: E402

USERS, REQUESTS, FLUSH_EVERY = 50, 1600, 50


def _setup(served: bool) -> list[int]:
    SQLModel.metadata.create_all(db.get_engine())
    with session_scope() as s:
        if served:
            library.seed(session=s)
        uids = []
        for _ in range(USERS):
            user = accounts.create_demo_user(session=s)
            sources.connect_demo(session=s, user_id=user.id)
            uids.append(user.id)
    return uids


def main() -> int:
    """Run and print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--served", action="store_true", help="advice, held reactions, shadows after: as /tip")
    served = ap.parse_args().served
    gc.set_threshold(50_000, 20, 100)  # as the server
    uids = _setup(served)
    refs: dict[int, str] = {}
    times: dict[str, list[float]] = {"load": [], "react": []}
    later_s = {"flush": 0.0, "shadows": 0.0, "settle": 0.0}
    jobs: list = []
    held: list[int] = []
    cpu = time.process_time()
    for i in range(REQUESTS):
        uid = uids[i % USERS]
        later: list | None = [] if served else None
        t = time.perf_counter()
        with session_scope() as s:
            if (i // USERS) % 2 == 0:
                kind, shown = "load", serving.show_in(s, user_id=uid, timezone="UTC", later=later)
            else:
                reacted = serving.react_in(
                    s, user_id=uid, reaction="helpful", key=f"k{i}", tip_ref=refs[uid], timezone="UTC",
                    undoable=served, later=later,
                )  # fmt: skip
                kind, shown = "react", reacted.next
                held.append(reacted.feedback.feedback_id)
        times[kind].append(time.perf_counter() - t)
        jobs += later or []
        refs[uid] = shown.ref if shown else ""
        if i % FLUSH_EVERY == FLUSH_EVERY - 1:
            _later(served, jobs, held, later_s)
            jobs, held = [], []
    cpu = time.process_time() - cpu
    for kind, values in times.items():
        ms = [v * 1000 for v in values]
        print(
            f"{kind:5s} n={len(ms)} median {statistics.median(ms):.2f} ms  mean {statistics.mean(ms):.2f} ms"
        )
    n = len(times["react"])
    print(f"flush {later_s['flush'] / n * 1000:.2f} ms per reaction (every {FLUSH_EVERY} requests)")
    if served:
        print(f"settle {later_s['settle'] / n * 1000:.2f} ms per reaction (batches of {FLUSH_EVERY // 2})")
        print(f"shadows {later_s['shadows'] / REQUESTS * 1000:.2f} ms per pick")
        total = statistics.mean(times["react"]) + (later_s["flush"] + later_s["settle"]) / n
        total += later_s["shadows"] / REQUESTS  # the reaction's own pick (the load bench's loads reshow)
        print(f"one Helpful, all of it (reaction, settle, flush, its pick's shadows): {total * 1000:.2f} ms")
    # CPU time is steadier than wall time on a shared host (another tenant's load shows as steal).
    print(f"process CPU per load + Helpful pair, everything included: {cpu / n * 1000:.2f} ms")
    return 0


def _later(served: bool, jobs: list, held: list[int], spent: dict[str, float]) -> None:
    """What the server does after the requests: shadows, settling held reactions, the flush."""
    if served:
        t = time.perf_counter()
        shadows.run(jobs)
        spent["shadows"] += time.perf_counter() - t
        t = time.perf_counter()
        with session_scope() as s:
            undo._settle(s, held)
        spent["settle"] += time.perf_counter() - t
    t = time.perf_counter()
    hot.flush()
    spent["flush"] += time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
