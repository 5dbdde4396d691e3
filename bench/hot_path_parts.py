"""Bench: three parts of the reaction path and a hot user's memory, each alone (in process).

Usage (from the repository root; it imports ``oo`` from the current directory, so an older
checkout can be measured with ``cd <checkout> && <venv>/bin/python <this file>``):
    .venv/bin/python bench/hot_path_parts.py      # ~10 s, a fresh SQLite database in a temp dir

Prints:

* the copy a reaction is learned on (`Policy.learning_copy`) for the seven LinUCB versions;
* the memory of one user's seven models as the cache holds them (decoded from the stored format,
  counted with tracemalloc over 200 users);
* the advice history a pick reads (`advice.picking.history`) for a user with 3,000 tips over 60
  days, one in six of them advice.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
os.environ["OO_DATA_DIR"] = tempfile.mkdtemp(prefix="oo-bench-")

import sqlalchemy as sa
from sqlmodel import SQLModel

import oo.models
from oo import db
from oo.db import session_scope
from oo.recommender import POLICY_SPECS, dumps_binary, loads
from oo.services.accounts import sessions as accounts
from oo.services.advice import picking
from oo.services.learning import learner


def _models() -> list:
    out = []
    for spec in (s for s in POLICY_SPECS if s.name == "linucb"):
        policy = learner.build_policy(spec.name, spec.version, spec.params, seed=1)
        for _ in range(5):
            policy.learn(dict.fromkeys(policy.features[:3], 1.0), 1.0)
        out.append(policy)
    return out


def _per_call(fn, n: int) -> float:
    for _ in range(min(n, 20)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def _history_ms() -> float:
    SQLModel.metadata.create_all(db.get_engine())
    now = oo.models.utcnow()
    with session_scope() as s:
        uid = accounts.create_demo_user(session=s).id
        rows = [
            {
                "id": uuid.uuid4().hex, "user_id": uid, "task_id": i, "source": "demo" if i % 6 else "advice",
                "external_id": str(i), "kind": "todo", "channel": "web", "policy": "linucb", "policy_version": 5,
                "score": 0.0, "fallback": False, "features": "{}", "explanation": "{}", "latency_ms": 1.0,
                "served_at": now - timedelta(minutes=29 * i), "propensity": 0.5,
            }
            for i in range(3000)
        ]  # fmt: skip
        s.connection().execute(sa.insert(oo.models.table(oo.models.TipView)), rows)
        s.commit()
        seen = lambda: picking.history(session=s, user_id=uid, now=now, repeat_days=7, dismiss_days=60)  # noqa: E731
        return _per_call(seen, 200) * 1000


def main() -> int:
    """Run and print."""
    models = _models()
    clone = _per_call(lambda: [p.learning_copy() for p in models], 2000)
    print(f"learning copy of the {len(models)} LinUCB versions: {clone * 1e6:.0f} µs")
    blobs = [dumps_binary(p) for p in models]
    gc.collect()
    tracemalloc.start()
    users = [[loads(b) for b in blobs] for _ in range(200)]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"one user's {len(users[0])} decoded models: {held / 200 / 1024:.1f} KiB")
    print(f"advice history, 3,000 tips in 60 days (500 advice): {_history_ms():.2f} ms per pick")
    return 0


if __name__ == "__main__":
    sys.exit(main())
