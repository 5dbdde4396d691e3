"""Bench: process CPU per tip load with the shadow policies scored inline vs after serving.

Usage:
    .venv/bin/python bench/shadow_cost.py            # 30 demo users, 3 rounds x 400 loads per variant, ~1 min

In process, on a fresh SQLite database in a temporary directory: `serving.show_in` per load,
interleaved per round — **inline** (shadows scored in the request), **batched** (shadow jobs
collected and written 200 per transaction at the end; the request part is printed too), and
**writer** (`shadows.start` per load, the writer thread as the /tip path uses it). Prints the
process CPU (all threads) per load in ms.
"""

from __future__ import annotations

import gc
import os
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
from oo.services.sources import catalog as sources  # noqa: E402
from oo.services.tips import recommend, serving, shadows  # noqa: E402


def loads(uids: list[int], n: int, mode: str) -> tuple[float, float]:
    """(request CPU, total CPU) per load in ms for ``mode`` inline | batched | writer."""
    jobs: list = []
    start = time.process_time()
    for i in range(n):
        with session_scope() as s:
            later = None if mode == "inline" else ([] if mode == "writer" else jobs)
            serving.show_in(s, user_id=uids[i % len(uids)], later=later)
        if mode == "writer" and later:
            shadows.start(later)
    request = time.process_time() - start
    for k in range(0, len(jobs), 200):
        shadows.run(jobs[k : k + 200])
    shadows.drain(60.0)
    return request / n * 1000, (time.process_time() - start) / n * 1000


def main() -> int:
    """Seed, warm up, run the rounds, print."""
    recommend.BUDGET_SECONDS = 5.0  # never fall back on a busy host: the same work every load
    gc.set_threshold(50_000, 20, 100)  # as the server
    SQLModel.metadata.create_all(db.get_engine())
    with session_scope() as s:
        uids = []
        for _ in range(30):
            user = accounts.create_demo_user(session=s)
            sources.connect_demo(session=s, user_id=user.id)
            uids.append(user.id)
    for mode in ("inline", "batched", "writer"):
        loads(uids, 60, mode)
    for _ in range(3):
        _, inline = loads(uids, 400, "inline")
        request, batched = loads(uids, 400, "batched")
        _, writer = loads(uids, 400, "writer")
        print(
            f"ms CPU per load: inline {inline:.2f} | batched request {request:.2f} total {batched:.2f}"
            f" | writer thread {writer:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
