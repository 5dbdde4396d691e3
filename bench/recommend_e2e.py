"""`recommend()` end to end on a real SQLite file: 1,000 open tasks, four policies, full logging.

Target: p99 <= 5 ms per call. Each call reads the open tasks, encodes them (two encoders),
checks the cached models against ``model_state``, scores the active policy on the thread pool
and three shadows meanwhile, and writes one ``tip_view`` and four ``tip_score`` rows (one commit).
The models are first trained on 200 reactions, so they are real, not cold.

Then the same stages are timed alone, to show what dominates, plus the feedback path
(record + learn + persist three models), which is not part of the pick.

    .venv/bin/python bench/recommend_e2e.py            # ~30 s, tuned as the app runs; --calls N
    .venv/bin/python bench/recommend_e2e.py --gc-threshold 0 --no-bg-checkpoint   # untuned, to compare

By default the run is configured as the server is (oo/oo.py, oo/db.py): gen-0 GC threshold 50,000
and SQLite WAL checkpoints from a background thread instead of on commit.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from oo.db import CHECKPOINT_EVERY_SECONDS, checkpoint, make_engine
from oo.models import Task, TipScore, TipView, User
from oo.recommender import Context, dumps
from oo.services.advice import library
from oo.services.learning import learner
from oo.services.learning.policies import serving_set
from oo.services.tips import advice, candidates, feedback, recommend, tip_log

N_TASKS = 1000


def seed(session: Session, now: datetime) -> int:
    """One user with 1,000 open tasks of every kind (priorities, deadlines, ages)."""
    user = User(name="bench", timezone="Europe/Berlin")
    session.add(user)
    session.commit()
    rng = random.Random(0)
    assert user.id is not None
    for i in range(N_TASKS):
        due = rng.random()
        session.add(
            Task(
                user_id=user.id,
                source="todoist",
                external_id=f"t{i}",
                content=f"Task number {i} with some words",
                priority=rng.choice((1, 1, 1, 2, 2, 3, 4)),
                added_at=now - timedelta(days=rng.random() * 120),
                due_kind="date" if due < 0.4 else "datetime" if due < 0.6 else "none",
                due_date=date.today() + timedelta(days=rng.randint(-7, 14)) if due < 0.4 else None,
                due_at=now + timedelta(hours=rng.uniform(-48, 96)) if 0.4 <= due < 0.6 else None,
            )
        )
    session.commit()
    return user.id


def train(session: Session, user_id: int, n: int) -> None:
    """Serve and react n times so every learner has a stored, non-trivial model."""
    rng = random.Random(1)
    for i in range(n):
        rec = recommend.recommend(session=session, user_id=user_id)
        reaction = rng.choice(("done", "helpful", "snooze", "not_helpful", "dismiss"))
        feedback.record(
            session=session,
            user_id=user_id,
            tip_id=rec.tip_id or "",
            reaction=reaction,
            idempotency_key=f"train-{i}",
            origin="admin",
        )


def timed(fn: Callable[[], object], n: int, cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds per call, after a short warm-up; CPU milliseconds (all threads) into ``cpu``."""
    for _ in range(min(20, n)):
        fn()
    out = []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) * 1000)
    return out


def row(label: str, ms: list[float]) -> str:
    """One line: median, p90, p99, max."""
    q = statistics.quantiles(ms, n=100)
    return f"{label:<44} {statistics.median(ms):7.3f} {q[89]:7.3f} {q[98]:7.3f} {max(ms):8.3f}"


def background_checkpoints(engine: sa.Engine) -> threading.Event:
    """As the server's `oo.db.sqlite_checkpointer` does: PASSIVE checkpoints from a thread, twice a second."""

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(CHECKPOINT_EVERY_SECONDS):
            checkpoint(engine)

    threading.Thread(target=run, daemon=True).start()
    return stop


def main() -> None:
    """Run the benchmark and print a table (milliseconds)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=50_000,
        help="gen-0 threshold for gc.set_threshold(N, 20, 100), as the app sets it (0: Python's default)",
    )
    parser.add_argument(
        "--no-bg-checkpoint",
        dest="bg_checkpoint",
        action="store_false",
        help="checkpoint on commit (SQLite's default) instead of from a background thread as the app does",
    )
    args = parser.parse_args()
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, 20, 100)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        if not args.bg_checkpoint:  # SQLite's own default: checkpoint inside the commit every 1,000 pages

            @sa.event.listens_for(engine, "connect")
            def _default_autocheckpoint(dbapi_conn, _record) -> None:
                dbapi_conn.execute("PRAGMA wal_autocheckpoint=1000")

            engine.dispose()
        stop = background_checkpoints(engine) if args.bg_checkpoint else None
        with Session(engine, expire_on_commit=False) as session:
            now = datetime.now(UTC)
            user_id = seed(session, now)
            train(session, user_id, args.train)
            print(f"{N_TASKS} open tasks, {args.train} reactions learned, {args.calls} calls; milliseconds")
            print(f"{'stage':<44} {'median':>7} {'p90':>7} {'p99':>7} {'max':>8}")
            cpu: list[float] = []
            wall = timed(lambda: recommend.recommend(session=session, user_id=user_id), args.calls, cpu)
            print(row("recommend() end to end (wall clock)", wall))
            # CPU time of the process per call (all threads): what the call costs, without the time
            # the shared host's other jobs held the CPU (they inflate the wall-clock tail).
            print(row("recommend() end to end (CPU time)", cpu))
            stages(session, user_id, args.calls // 4)
            feedback_path(session, user_id, args.calls // 8)
            with_advice(session, user_id, args.calls // 4)
        if stop is not None:
            stop.set()
        engine.dispose()


def stages(session: Session, user_id: int, n: int) -> None:
    """Each stage of one call, alone."""
    now = datetime.now(UTC)
    tz = candidates.user_zone(session=session, user_id=user_id)
    ctx = Context(now.astimezone(tz))
    print(row("  user time zone", timed(lambda: candidates.user_zone(session=session, user_id=user_id), n)))
    print(
        row(
            "  read 1,000 open tasks",
            timed(lambda: candidates.load(session=session, user_id=user_id, now=now), n),
        )
    )
    _, views = candidates.load(session=session, user_id=user_id, now=now)
    serving = serving_set(session=session)
    print(row("  encode (improved@1 + textbook@1)", timed(lambda: recommend._encode(serving, views, ctx), n)))
    matrices = recommend._encode(serving, views, ctx)
    print(
        row(
            "  models: version check (cached)",
            timed(lambda: learner.get_models(session=session, user_id=user_id, refs=serving.all), n),
        )
    )
    print(
        row(
            "  load models + score 4 policies + explain",
            timed(lambda: recommend._score_all(session, user_id, serving, matrices), n),
        )
    )
    ids, _ = candidates.load(session=session, user_id=user_id, now=now)
    outcomes = recommend._score_all(session, user_id, serving, matrices)
    print(
        row(
            "  log: text, tip_view + 4 tip_score rows, commit",
            timed(
                lambda: recommend._log(
                    session,
                    tip_log.Pick(user_id, ids, views, ctx, matrices, outcomes, time.perf_counter(), now),
                    outcomes[0],
                    tz=ctx.now.tzinfo or UTC,
                    channel="web",
                ),
                n,
            ),
        )
    )
    count = session.exec(select(TipView)).all()
    print(
        f"  ({len(count)} tip_view rows, {len(session.exec(select(TipScore.id)).all())} tip_score rows logged)"
    )


def feedback_path(session: Session, user_id: int, n: int) -> None:
    """A reaction: recorded (outbox row + task change), then learned (three models persisted)."""
    recs = [recommend.recommend(session=session, user_id=user_id) for _ in range(2 * n + 40)]
    keys = iter(range(10**6))

    def react() -> None:
        rec = recs.pop()
        feedback.record(
            session=session,
            user_id=user_id,
            tip_id=rec.tip_id or "",
            reaction="helpful",
            idempotency_key=f"bench-{next(keys)}",
            origin="admin",
        )

    print(row("feedback: record + learn + save 3 models", timed(react, n)))
    real_apply, pending = learner.apply, []
    learner.apply = lambda *, session, feedback_id: pending.append(feedback_id)  # type: ignore[assignment]
    try:
        print(row("  record only (outbox row, one commit)", timed(react, n)))
    finally:
        learner.apply = real_apply
    ids = iter(pending)
    print(
        row(
            "  learn + persist 3 models (outbox apply)",
            timed(lambda: learner.apply(session=session, feedback_id=next(ids)), len(pending) - 20),
        )
    )
    models = learner.get_models(session=session, user_id=user_id, refs=serving_set(session=session).all)
    print(row("    of which dumps(linucb@3) alone", timed(lambda: dumps(models["linucb@3"]), n)))


def with_advice(session: Session, user_id: int, n: int) -> None:
    """The same call once the advice library is seeded (as in the app): the kind decision added."""
    library.seed(session=session)
    now = datetime.now(UTC)
    print(
        row(
            "with the advice library: recommend() end to end",
            timed(lambda: recommend.recommend(session=session, user_id=user_id), n),
        )
    )
    print(
        row(
            "  of which the task-or-advice decision",
            timed(
                lambda: advice.decide(
                    session=session, user_id=user_id, now=now, local=now, open_tasks=N_TASKS
                ),
                n,
            ),
        )
    )
    kinds = session.exec(select(TipView.kind, sa.func.count()).group_by(TipView.kind)).all()
    print(f"  (tips by kind so far: {dict(kinds)})")


if __name__ == "__main__":
    main()
