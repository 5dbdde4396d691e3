"""Todoist sync throughput against the fake Todoist on loopback (target: >= 200 incremental user-syncs/s).

1,000 users x 200 tasks by default. The fake runs in its own process (as Todoist would be another
machine), so the measuring process holds only oO's side: the real sync job (`oo.jobs.sync_todoist`)
with its HTTP client, token decryption, the task cache writes, the integration update and the
``signals.task.synced`` event persisted per user. First one full sync of everyone, then rounds of
incremental syncs; before each round a few tasks change at the fake (completed, added, edited), so
some answers carry items and most are empty, as between two syncs five minutes apart.

    .venv/bin/python bench/todoist_sync.py                  # SQLite (the embedded default), ~1-2 min
    .venv/bin/python bench/todoist_sync.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


def _serve_fake(users: int, tasks: int, conn) -> None:
    """Child process: the fake Todoist with seeded users, plus a /bench/mutate control route."""
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from tests.fakes.todoist import create_fake_todoist

    app, fake = create_fake_todoist(CLIENT_ID, CLIENT_SECRET)
    rng = random.Random(1)
    ids = {}
    for i in range(users):
        fake.add_user(f"bench-{i}", tz="Europe/Berlin")
        ids[i] = fake.seed_tasks(f"bench-{i}", tasks, seed=i)

    async def mutate(request: Request) -> JSONResponse:
        """Change `n` random users' tasks: complete one, add one, or edit one."""
        n = int(request.query_params.get("n", "10"))
        for i in rng.sample(range(users), min(n, users)):
            token, roll = f"bench-{i}", rng.random()
            active = fake.active_ids(token)
            if roll < 0.4 and active:
                fake.complete_externally(token, rng.choice(active))
            elif roll < 0.7:
                fake.add_task(token, content=f"New task {rng.randrange(10**6)}", priority=rng.randint(1, 4))
            elif active:
                task = fake.user(token).tasks[rng.choice(active)]
                task.content, task.rev = task.content + " (edited)", fake.user(token).bump()
        return JSONResponse({"changed": n})

    async def cpu(request: Request) -> JSONResponse:
        return JSONResponse({"cpu": time.process_time()})

    # The listening socket is created with IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted
    # connections; without it Nagle plus delayed ACKs add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    routes = [
        Route("/bench/mutate", mutate, methods=["POST"]),
        Route("/bench/cpu", cpu, methods=["GET"]),
        Mount("/", app=app),
    ]
    config = uvicorn.Config(
        Starlette(routes=routes),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        backlog=4096,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    conn.send(f"http://127.0.0.1:{sock.getsockname()[1]}")
    conn.recv()  # wait until the parent is done
    server.should_exit = True
    thread.join(10)


def _configure(api_root: str, database_url: str | None, data_dir: str) -> None:
    os.environ.update(
        OO_DATA_DIR=data_dir,
        OO_TODOIST_CLIENT_ID=CLIENT_ID,
        OO_TODOIST_CLIENT_SECRET=CLIENT_SECRET,
        OO_TODOIST_AUTH_URL=api_root,
        OO_TODOIST_API_URL=f"{api_root}/api/v1",
    )
    if database_url:
        os.environ["OO_DATABASE_URL"] = database_url


def _prepare_database(users: int) -> list[int]:
    """Fresh tables and `users` connected users (tokens encrypted as the OAuth callback stores them)."""
    from sqlmodel import Session, SQLModel

    import oo.models  # noqa: F401
    from oo.db import get_engine
    from oo.models import Integration, User
    from oo.services.platform.keyring import keyring

    engine = get_engine()
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    ring = keyring()
    with Session(engine) as session:
        people = [User(name=f"Bench {i}", timezone="Europe/Berlin") for i in range(users)]
        session.add_all(people)
        session.commit()
        session.add_all(
            Integration(
                user_id=u.id,
                provider="todoist",
                credentials=ring.encrypt(f"bench-{i}"),
                external_user_id=str(10_000_001 + i),
            )
            for i, u in enumerate(people)
        )
        session.commit()
        return [u.id for u in people]


async def _measure(api_root: str, rounds: int, changes: int, concurrency: int) -> None:
    import httpx

    from oo.jobs import sync_todoist
    from oo.services.platform import event_bus as events
    from oo.services.sources.todoist import connection as todoist

    async def timed(label: str) -> float:
        fake_cpu = (await control.get(f"{api_root}/bench/cpu")).json()["cpu"]
        started, cpu = time.perf_counter(), time.process_time()
        result = await sync_todoist.run(concurrency=concurrency)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        fake_cpu = (await control.get(f"{api_root}/bench/cpu")).json()["cpu"] - fake_cpu
        n = max(1, result["synced"])
        rate = result["synced"] / elapsed
        print(
            f"{label:<16} {result['synced']:>5} users in {elapsed:6.2f} s = {rate:7.1f} user-syncs/s;"
            f" CPU per user-sync: oO {cpu / n * 1000:5.2f} ms, fake {fake_cpu / n * 1000:5.2f} ms"
            + (f"  ({result['failed']} failed)" if result["failed"] else "")
        )
        cpus.append(cpu / n * 1000)
        return rate

    await events.bus().start()
    rates: list[float] = []
    cpus: list[float] = []
    async with httpx.AsyncClient() as control:
        full = await timed("full sync")
        for r in range(1, rounds + 1):
            await control.post(f"{api_root}/bench/mutate", params={"n": changes})
            rates.append(await timed(f"incremental #{r}"))
    await events.bus().close()
    await todoist.close_http()
    per_sync = statistics.median(cpus[1:])
    print(
        f"\nfull: {full:.1f} user-syncs/s; incremental: median {statistics.median(rates):.1f}, "
        f"min {min(rates):.1f} user-syncs/s (target >= 200); oO CPU per incremental user-sync "
        f"{per_sync:.2f} ms = {1000 / per_sync:.0f} user-syncs/s per core"
    )


def main() -> None:
    """Parse arguments, start the fake, seed, measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=50, help="users whose tasks change before each round")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="users synced at once (the job's default: 8)"
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    started = time.perf_counter()
    parent, child = mp.get_context("spawn").Pipe()
    fake = mp.get_context("spawn").Process(
        target=_serve_fake, args=(args.users, args.tasks, child), daemon=True
    )
    fake.start()
    api_root = parent.recv()
    print(
        f"fake Todoist at {api_root}: {args.users} users x {args.tasks} tasks seeded in "
        f"{time.perf_counter() - started:.1f} s; concurrency {args.concurrency}"
    )
    with tempfile.TemporaryDirectory() as data_dir:
        _configure(api_root, args.database_url, data_dir)
        _prepare_database(args.users)
        try:
            asyncio.run(_measure(api_root, args.rounds, args.changes, args.concurrency))
        finally:
            parent.send("stop")
            fake.join(15)


if __name__ == "__main__":
    main()
