"""Seed a separate database with realistic admin-console volume (10k users, 1M events, 100k tips).

Everything lands in the last 30 days (the retention window of tips, scores and events), with a
day/night rhythm, heavy and light users, real feature encodings of the served tasks, the policy
registry's active and shadow scoring rows, reactions with their rewards, and the bus events the
app would have published. Secrets are placeholders, never real tokens.

    .venv/bin/python scripts/seed_admin_volume.py                    # data/admin_bench.db
    .venv/bin/python scripts/seed_admin_volume.py --url sqlite:////tmp/x.db --users 500 --events 20000 --tips 5000

Refuses to write into a database that already has users (pass --force to add to it anyway).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oo.db import make_engine  # noqa: E402
from oo.integrations.demo import CATALOGUE  # noqa: E402
from oo.models import (  # noqa: E402
    AdminAction,
    Consent,
    EventRecord,
    Integration,
    ModelState,
    PushSubscription,
    SavedQuery,
    Task,
    TipFeedback,
    TipScore,
    TipView,
    User,
    UserSession,
)
from oo.recommender import REWARDS, Context, TaskView, build_policy, dumps, get_encoder  # noqa: E402
from oo.services.learning.policies import list_policies  # noqa: E402

DEFAULT_URL = f"sqlite:///{ROOT / 'data' / 'admin_bench.db'}"
BATCH = 20_000
DAYS = 30
TZS = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")
REACTION_MIX = (("done", 25), ("snooze", 20), ("dismiss", 15), ("helpful", 25), ("not_helpful", 15))
SAVED_QUERIES = (
    (
        "Tips per policy",
        "SELECT policy, policy_version, count(*) AS tips FROM ro_tip_view GROUP BY 1, 2 ORDER BY 3 DESC",
    ),
    ("Reactions", "SELECT reaction, count(*) AS n FROM ro_tip_feedback GROUP BY reaction ORDER BY n DESC"),
)
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 10, 9, 7, 6, 7, 6, 5, 5, 6, 7, 9, 10, 8, 6, 3, 2]


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _moment(rng: random.Random, now: datetime) -> datetime:
    while True:  # a day in the window and a busy-hours-weighted time of day, never in the future
        day = now - timedelta(days=rng.randrange(DAYS))
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        if at < now:
            return at


def _insert(
    session: Session, model: type[SQLModel], rows: Iterator[dict[str, Any]] | list[dict[str, Any]]
) -> int:
    n, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            session.execute(sa.insert(model), batch)
            n, batch = n + len(batch), []
    if batch:
        session.execute(sa.insert(model), batch)
        n += len(batch)
    session.commit()
    return n


def _users(rng: random.Random, n: int, now: datetime, first_id: int) -> list[dict[str, Any]]:
    out = []
    for i in range(first_id, first_id + n):
        demo = rng.random() < 0.2
        out.append(
            {
                "id": i,
                "email": None if demo else f"user{i}@example.test",
                "name": "Demo" if demo else f"User {i}",
                "role": "admin" if i == 1 else "user",  # only in a fresh database
                "is_demo": demo,
                "timezone": rng.choice(TZS),
                "oidc_issuer": None if demo else "https://accounts.google.com",
                "oidc_subject": None if demo else f"sub-{i}",
                "created_at": now - timedelta(days=rng.uniform(0, 180)),
                "deleted_at": now - timedelta(days=rng.uniform(0, 5)) if rng.random() < 0.005 else None,
            }
        )
    return out


def _integrations(rng: random.Random, users: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    out = []
    for u in users:
        if u["deleted_at"] or rng.random() > 0.8:
            continue
        todoist = not u["is_demo"] and rng.random() < 0.75
        stale = todoist and rng.random() < 0.08
        out.append(
            {
                "user_id": u["id"],
                "provider": "todoist" if todoist else "demo",
                "status": "needs_reconnect" if stale and rng.random() < 0.5 else "connected",
                "credentials": "v1.seed.placeholder-not-a-token" if todoist else None,
                "scopes": "data:read_write" if todoist else "",
                "last_sync_at": now
                - (timedelta(days=rng.uniform(1, 9)) if stale else timedelta(minutes=rng.uniform(0, 30))),
                "last_error": "Todoist refused the token (401)." if stale else None,
                "created_at": u["created_at"],
                "updated_at": now,
            }
        )
    return out


def _tasks(
    rng: random.Random, integrations: list[dict[str, Any]], now: datetime, last_id: int
) -> dict[int, list[dict[str, Any]]]:
    by_user: dict[int, list[dict[str, Any]]] = {}
    task_id = last_id
    for integ in integrations:
        rows = []
        for j in range(rng.randint(6, 24)):
            content, priority, due, age, labels = rng.choice(CATALOGUE)
            task_id += 1
            rows.append(
                {
                    "id": task_id,
                    "user_id": integ["user_id"],
                    "source": integ["provider"],
                    "external_id": f"s{task_id}-{j}",
                    "content": content,
                    "priority": priority,
                    "labels": labels,
                    "added_at": now - timedelta(days=age + rng.uniform(0, 30)),
                    "due_kind": "date" if due is not None else "none",
                    "due_date": (now + timedelta(days=due + rng.randint(-3, 3))).date()
                    if due is not None
                    else None,
                    "completed_at": now - timedelta(days=rng.uniform(0, 20)) if rng.random() < 0.15 else None,
                    "updated_at": now,
                }
            )
        by_user[integ["user_id"]] = rows
    return by_user


def _features(task: dict[str, Any], at: datetime, encoders: list[str]) -> dict[str, dict[str, float]]:
    view = TaskView(str(task["id"]), task["priority"], task["added_at"], due_date=task["due_date"])
    ctx = Context(at)
    return {key: get_encoder(key).encode(view, ctx) for key in encoders}


def _tips(
    rng: random.Random, n: int, tasks: dict[int, list[dict[str, Any]]], policies: list[Any], now: datetime
):
    """Yields (tip_view, [tip_score...], [feedback...]) per served tip."""
    active = next(p for p in policies if p.status == "active")
    shadows = [p for p in policies if p.status == "shadow"]
    encoder = {f"{p.name}@{p.version}": json.loads(p.params).get("encoder", "textbook@1") for p in policies}
    encoders = sorted(set(encoder.values()))
    users = list(tasks)
    weights = [rng.paretovariate(1.3) for _ in users]
    for user_id in rng.choices(users, weights, k=n):
        pool = tasks[user_id]
        task, at = rng.choice(pool), _moment(rng, now)
        fallback = rng.random() < 0.03
        policy = ("random", 1) if fallback else (active.name, active.version)
        xs = _features(task, at, encoders)
        tip_id = _hex(rng)
        reaction = (
            rng.choices([r for r, _ in REACTION_MIX], [w for _, w in REACTION_MIX])[0]
            if rng.random() < 0.6
            else None
        )
        reacted = at + timedelta(minutes=rng.uniform(0.1, 90)) if reaction else None
        view = {
            "id": tip_id,
            "user_id": user_id,
            "task_id": task["id"],
            "source": task["source"],
            "external_id": task["external_id"],
            "channel": rng.choices(("web", "push", "api"), (80, 15, 5))[0],
            "policy": policy[0],
            "policy_version": policy[1],
            "score": round(rng.uniform(-0.5, 1.5), 4),
            "fallback": fallback,
            "features": json.dumps(xs),
            "explanation": json.dumps({"policy": f"{policy[0]}@{policy[1]}", "top": "priority"}),
            "latency_ms": round(rng.lognormvariate(1.5, 0.5), 2),
            "served_at": at,
            "reaction": reaction,
            "reacted_at": reacted,
        }
        scores = []
        for p in [active, *shadows]:
            key = f"{p.name}@{p.version}"
            pick = task if p is active else rng.choice(pool)
            feats = xs[encoder[key]] if pick is task else _features(pick, at, [encoder[key]])[encoder[key]]
            scores.append(
                {
                    "request_id": tip_id,
                    "tip_id": tip_id,
                    "user_id": user_id,
                    "policy": p.name,
                    "policy_version": p.version,
                    "role": "fallback"
                    if fallback and p is active
                    else ("active" if p is active else "shadow"),
                    "task_id": pick["id"],
                    "score": round(rng.uniform(-0.5, 1.5), 4),
                    "candidates": len(pool),
                    "features": json.dumps(feats),
                    "latency_ms": round(rng.lognormvariate(0.5, 0.6), 3),
                    "created_at": at,
                }
            )
        feedback = []
        if reaction:
            feedback.append(
                {
                    "tip_id": tip_id,
                    "user_id": user_id,
                    "reaction": reaction,
                    "reward": REWARDS[reaction],
                    "idempotency_key": _hex(rng),
                    "origin": "user",
                    "created_at": reacted,
                    "applied_at": None if rng.random() < 0.002 else reacted + timedelta(seconds=1),
                }
            )
        yield view, scores, feedback


def _event(
    rng: random.Random, subject: str, user_id: int | None, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": _hex(rng),
        "subject": subject,
        "user_id": user_id,
        "occurred_at": at,
        "data": json.dumps(data),
    }


def _tip_events(
    rng: random.Random, view: dict[str, Any], feedback: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    uid, at = view["user_id"], view["served_at"]
    yield _event(
        rng,
        "signals.tip.served",
        uid,
        at,
        {
            "tip_id": view["id"],
            "task_id": str(view["task_id"]),
            "policy": view["policy"],
            "policy_version": str(view["policy_version"]),
            "score": view["score"],
            "channel": view["channel"],
        },
    )
    if view["channel"] == "push":
        yield _event(
            rng,
            "signals.push.sent",
            uid,
            at,
            {"ok": rng.random() > 0.04, "tip_id": view["id"], "status_code": 201},
        )
    for f in feedback:
        yield _event(
            rng,
            "signals.tip.feedback",
            uid,
            f["created_at"],
            {"tip_id": view["id"], "reaction": f["reaction"], "reward": f["reward"]},
        )
        if f["reaction"] == "done":
            yield _event(
                rng,
                "signals.task.completed",
                uid,
                f["created_at"],
                {"source": view["source"], "task_id": str(view["task_id"])},
            )


def _sync_events(
    rng: random.Random, n: int, integrations: list[dict[str, Any]], now: datetime
) -> Iterator[dict[str, Any]]:
    for _ in range(n):
        integ = rng.choice(integrations)
        total = rng.randint(5, 40)
        yield _event(
            rng,
            "signals.task.synced",
            integ["user_id"],
            now - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
            {
                "source": integ["provider"],
                "counts": {"upserted": rng.randint(0, 5), "removed": rng.randint(0, 2), "total": total},
                "duration_ms": round(rng.lognormvariate(5, 0.6), 1),
            },
        )


def _seed_people(
    session: Session, rng: random.Random, users: list[dict[str, Any]], now: datetime, counts: dict[str, int]
) -> None:
    counts["user"] = _insert(session, User, users)
    counts["consent"] = _insert(
        session,
        Consent,
        (
            {"user_id": u["id"], "document": d, "version": "2025-01", "accepted_at": u["created_at"]}
            for u in users
            for d in ("terms", "privacy")
        ),
    )
    counts["user_session"] = _insert(
        session,
        UserSession,
        (
            {
                "user_id": u["id"],
                "token_hash": _hex(rng) * 2,
                "created_at": u["created_at"],
                "last_seen_at": now - timedelta(hours=rng.uniform(0, 200)),
                "expires_at": now + timedelta(days=20),
            }
            for u in users
        ),
    )
    counts["push_subscription"] = _insert(
        session,
        PushSubscription,
        (
            {
                "user_id": u["id"],
                "endpoint_hash": _hex(rng) * 2,
                "data": "v1.seed.placeholder",
                "created_at": u["created_at"],
            }
            for u in users
            if rng.random() < 0.1
        ),
    )


def _seed_tips(
    session: Session,
    rng: random.Random,
    tasks: dict[int, list[dict[str, Any]]],
    policies: list[Any],
    now: datetime,
    tips: int,
    events: int,
    counts: dict[str, int],
) -> set[int]:
    """Tips with their scoring rows, reactions and bus events, flushed in batches; returns the users served."""
    models = {"tip_view": TipView, "tip_score": TipScore, "tip_feedback": TipFeedback, "event": EventRecord}
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in models}
    counts.update(dict.fromkeys(models, 0))
    served: set[int] = set()

    def flush() -> None:
        for name, rows in buffers.items():
            keep = rows[: max(0, events - counts["event"])] if name == "event" else rows
            counts[name] += _insert(session, models[name], keep)
            rows.clear()

    for view, score_rows, fb in _tips(rng, tips, tasks, policies, now):
        served.add(view["user_id"])
        buffers["tip_view"].append(view)
        buffers["tip_score"].extend(score_rows)
        buffers["tip_feedback"].extend(fb)
        buffers["event"].extend(_tip_events(rng, view, fb))
        if len(buffers["tip_score"]) >= BATCH:
            flush()
    flush()
    return served


def _seed_extras(
    session: Session,
    rng: random.Random,
    policies: list[Any],
    served: set[int],
    now: datetime,
    admin_id: int,
    counts: dict[str, int],
) -> None:
    learner = next((p for p in policies if p.name != "random"), None)
    if learner is not None:
        model, key = dumps(build_policy(learner.name, learner.version)), f"{learner.name}@{learner.version}"
        counts["model_state"] = _insert(
            session,
            ModelState,
            (
                {
                    "user_id": u,
                    "policy_key": key,
                    "data": model,
                    "updates": rng.randint(1, 300),
                    "updated_at": now,
                }
                for u in sorted(served)[: max(1, len(served) // 4)]
            ),
        )
    users = sorted(served) or [admin_id]
    counts["admin_action"] = _insert(
        session,
        AdminAction,
        (
            {
                "admin_id": admin_id,
                "action": rng.choice(("role.grant", "bandit.reset", "sql.run", "policy.shadow")),
                "target": f"user:{rng.choice(users)}",
                "params": "{}",
                "created_at": now - timedelta(days=rng.uniform(0, DAYS)),
            }
            for _ in range(300)
        ),
    )
    have = set(session.execute(sa.select(SavedQuery.name)).scalars())
    counts["saved_query"] = _insert(
        session,
        SavedQuery,
        [
            {"name": name, "sql": sql, "created_by": admin_id, "created_at": now}
            for name, sql in SAVED_QUERIES
            if name not in have
        ],
    )


def seed(
    engine: sa.Engine, *, users: int, events: int, tips: int, seed_value: int = 7, now: datetime | None = None
) -> dict[str, int]:
    """Fill ``engine``'s database (tables created if missing); returns row counts per table."""
    now = now or datetime.now(UTC)
    SQLModel.metadata.create_all(engine)
    counts: dict[str, int] = {}
    with Session(engine) as session:
        policies = list_policies(session=session)
        # Ids continue after existing rows, so --force can add volume to a database in use.
        first_user = (session.execute(sa.select(sa.func.max(User.id))).scalar() or 0) + 1
        last_task = session.execute(sa.select(sa.func.max(Task.id))).scalar() or 0
        rng = random.Random(f"{seed_value}:{first_user}")  # a second run adds different rows
        user_rows = _users(rng, users, now, first_user)
        _seed_people(session, rng, user_rows, now, counts)
        integrations = _integrations(rng, user_rows, now)
        counts["integration"] = _insert(session, Integration, integrations)
        tasks = _tasks(rng, integrations, now, last_task)
        counts["task"] = _insert(session, Task, (t for rows in tasks.values() for t in rows))
        served = _seed_tips(session, rng, tasks, policies, now, tips, events, counts)
        counts["event"] += _insert(
            session, EventRecord, _sync_events(rng, max(0, events - counts["event"]), integrations, now)
        )
        _seed_extras(session, rng, policies, served, now, first_user, counts)
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="database URL (default: data/admin_bench.db)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="add to a database that already has users")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    with engine.connect() as conn:
        has_users = (
            sa.inspect(conn).has_table("user")
            and conn.execute(sa.text('SELECT count(*) FROM "user"')).scalar()
        )
    if has_users and not args.force:
        print(f"{args.url} already has users; pass --force to add to it", file=sys.stderr)
        return 2
    start = time.monotonic()
    counts = seed(engine, users=args.users, events=args.events, tips=args.tips, seed_value=args.seed)
    print(json.dumps(counts, indent=1))
    print(f"seeded in {time.monotonic() - start:.0f} s -> {args.url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
