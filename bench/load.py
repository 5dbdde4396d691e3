"""Bench: /tip under websocket load — the real handlers, driven like browsers by the shared generator.

Usage (each scenario starts its own production server; several run one after the other):
    .venv/bin/python bench/load.py mix             # 1,000 users x ~1 ev/s, Helpful/load mix, 1 worker, SQLite
    .venv/bin/python bench/load.py closed          # 1,000 users, closed loop, tip loads only, 1 worker
    .venv/bin/python bench/load.py reactions       # 1,000 users, closed loop, Helpfuls only: a reaction's cost
    .venv/bin/python bench/load.py mix:redis:2     # the mix with Redis state and 2 workers (SQLite, WAL)
    .venv/bin/python bench/load.py idle            # server memory per idle connected client
    .venv/bin/python bench/load.py mix:redis:2:pg  # ... with a fresh Postgres database (127.0.0.1:5432)
    options: -c CLIENTS, -d SECONDS, --think-ms MS, --procs N, --generator PATH (wsload.py), --keep,
             --profile PY_SPY (sample the server with py-spy, GIL holder only, per thread; collapsed stacks beside
             the results; summarise with bench/profile_shares.py), --loads-per-minute N (the server's
             OO_RATE_LOADS_PER_MINUTE: its default 30 per user caps a closed loop at 500 loads/s),
             --env KEY=VALUE (a server setting, e.g. OO_MODEL_CACHE_SIZE=4096; repeatable),
             --shadows N (keep only the first N shadow policies of the registry, archive the others:
             what the shadows cost; the default keeps them all, as shipped)

What it does: starts `scripts/run` (production build, one port) on a fresh SQLite database under
``data/bench_load/`` (the frontend build there is reused between runs), seeds the users with
`scripts/seed_demo_users` (demo source, one session each), and runs the generator (``wsload.py``,
see its README) against ``/_event``. Every client primes with ``TipState.load`` (the page's
on_load) and then sends, in turn:

* ``TipState.helpful`` with payload ``{"key": "<view_key>-helpful", "ref": "<view_key>"}`` — the
  reaction as the page sends it (``view_key`` is the served tip's reference, the latest one the
  client saw), answered by the next tip;
* ``TipState.load`` with ``{}`` — a tip load (the page's on_load / Retry); within
  ``OO_TIP_RESHOW_SECONDS`` of the tip on screen it shows that tip again (`oo.services.tips.reshow`).

An answer counts when its delta carries ``view_key`` (a reload's is the same reference). After the run it checks every
reaction against the tip it answers (the tip id inside the key the client sent must be the tip the
row was recorded on), counts Reflex lock expiries and "lock held too long" warnings in the server
log, and prints served events/s, p50/p95/p99, errors, server CPU per event and RSS. Results are
appended to ``data/bench_load/load.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.app_server import AppServer  # noqa: E402

GENERATOR = Path(os.environ.get("OO_WSLOAD", ROOT.parent.parent / "shared" / "tools" / "wsload.py"))
WORK = ROOT / "data" / "bench_load"
RESULTS = WORK / "load.jsonl"
TIP_STATE = "reflex___state____state.oo___state___auth____auth_state.oo___state___tip____tip_state"
REDIS_URL = "redis://127.0.0.1:6379/9"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
LOCK_PATTERNS = {
    "lock_expired": re.compile(r"LockExpiredError"),
    "lock_held_too_long": re.compile(r"held too long|lock.*(expired|too long)", re.IGNORECASE),
}


def tip_state_name() -> str:
    """The full Reflex name of TipState (checked against the app, so a rename fails loudly)."""
    from oo.state.tip import TipState

    name = TipState.get_full_name()
    assert name == TIP_STATE, name
    return name


def seed(env: dict[str, str], users: int, cookies: Path) -> None:
    """Seed ``users`` demo users into the server's database; cookies into ``cookies``."""
    subprocess.run(
        [str(ROOT / "scripts" / "seed_demo_users"), str(users), "--cookies", str(cookies)],
        env=env,
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )


def keep_shadows(env: dict[str, str], keep: int) -> list[str]:
    """Archive every shadow policy of the server's registry but the first ``keep``; returns the serving set.

    The server's serving set is cached for `policies.CACHE_SECONDS`, well within the warm-up.
    """
    code = (
        "import json, sys\n"
        "from oo.db import session_scope\n"
        "from oo.services.learning import policies\n"
        "with session_scope() as s:\n"
        "    policies.ensure_registry(session=s)\n"
        "    shadows = [p for p in policies.list_policies(session=s) if p.status == policies.SHADOW]\n"
        "    for p in shadows[int(sys.argv[1]):]:\n"
        "        policies.set_status(session=s, name=p.name, version=p.version, status=policies.ARCHIVED)\n"
        "    print(json.dumps([r.key for r in policies.serving_set(session=s, fresh=True).all]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(keep)], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def wsload(server: AppServer, args: argparse.Namespace, cookies: Path, label: str, extra: list[str]) -> dict:
    """Run the generator once; returns its JSON summary."""
    out = WORK / f"{label}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(args.generator),
        "--url",
        server.url.replace("localhost", "127.0.0.1"),
        "-c",
        str(args.clients),
        "-w",
        str(args.warmup),
        "-d",
        str(args.duration),
        "--pathname",
        "/tip",
        "--cookie-file",
        str(cookies),
        "--done-field",
        "view_key",
        "--prime",
        f"{TIP_STATE}.load",
        "--server-pid",
        str(server.proc.pid),
        "--procs",
        str(args.procs),
        "--label",
        label,
        "--json",
        str(out),
        *extra,
    ]
    subprocess.run(cmd, check=True, timeout=args.warmup + args.duration + 400)
    return json.loads(out.read_text().splitlines()[-1])


def profiler(server: AppServer, args: argparse.Namespace, label: str) -> subprocess.Popen | None:
    """With ``--profile``: py-spy samples the server's process tree for the run (collapsed stacks)."""
    if not args.profile:
        return None
    assert server.proc is not None
    out = WORK / f"{label}.pyspy.txt"
    cmd = [
        str(args.profile),
        "record",
        "-p",
        str(server.proc.pid),
        "--subprocesses",
        "--nonblocking",
        "--gil",
        "--threads",
    ]
    cmd += ["-r", "50", "-d", str(int(args.warmup + args.duration)), "--format", "raw", "-o", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


REACTIONS_SQL = (
    "select count(*), coalesce(sum(case when substr(idempotency_key, 1, 32) != tip_id then 1 else 0 end), 0) "
    "from tip_feedback where origin = 'user'"
)
PENDING_SQL = "select count(*) from tip_feedback where applied_at is null"


def check_reactions(db_path: Path | None, pg_name: str | None = None) -> dict[str, int]:
    """Every reaction against the tip it answers: the tip id in the sent key vs the recorded tip."""
    if pg_name is not None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/{pg_name}") as db:
            total, wrong = db.execute(REACTIONS_SQL).fetchone()  # type: ignore[misc]
            pending = db.execute(PENDING_SQL).fetchone()[0]  # type: ignore[index]
    else:
        with sqlite3.connect(db_path) as db:
            total, wrong = db.execute(REACTIONS_SQL).fetchone()
            pending = db.execute(PENDING_SQL).fetchone()[0]
    return {"reactions": total, "wrong_tip": wrong, "unapplied": pending}


def fresh_pg(name: str, *, drop_only: bool = False) -> str:
    """A new empty Postgres database ``name`` (dropped first if it exists); its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/{name}"


def log_counts(server: AppServer) -> dict[str, int]:
    """Lock expiries and lock warnings in the server log."""
    text = server.log_path.read_text(errors="replace")
    return {k: len(p.findall(text)) for k, p in LOCK_PATTERNS.items()} | {
        "tracebacks": text.count("Traceback (most recent call last)")
    }


def scenario_args(name: str, args: argparse.Namespace) -> list[str]:
    """Generator arguments of one scenario."""
    load = ["-e", f"{TIP_STATE}.load", "-p", "{}"]
    helpful = ["-e", f"{TIP_STATE}.helpful", "-p", '{"key": "{view_key}-helpful", "ref": "{view_key}"}']
    if name == "mix":
        return [*helpful, *load, "--think-ms", str(args.think_ms)]
    if name == "closed":
        return load
    if name == "reactions":  # Helpfuls back to back: a reaction's whole cost, without the loads
        return helpful
    if name == "idle":
        return [*load, "--think-ms", "1000", "--idle", str(args.idle)]
    raise SystemExit(f"unknown scenario {name}")


def run(spec: str, args: argparse.Namespace) -> dict:
    """One scenario ``name[:redis[:workers]][:pg]`` on its own fresh server; returns its numbers."""
    name, *rest = spec.split(":")
    pg = bool(rest) and rest[-1] == "pg"
    rest = rest[:-1] if pg else rest
    redis_on = bool(rest) and rest[0] == "redis"
    workers = int(rest[1]) if len(rest) > 1 else (2 if redis_on else 1)
    clients = 10 if name == "idle" else args.clients
    label = f"{name}-{'redis' if redis_on else 'disk'}-w{workers}-c{clients}{'-pg' if pg else ''}"
    if args.shadows is not None:
        label += f"-s{args.shadows}"
    pg_name = f"oo_bench_{label.replace('-', '_')}" if pg else None
    WORK.mkdir(parents=True, exist_ok=True)
    db_path = WORK / f"{label}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    env = {
        "OO_DEMO": "true",
        "OO_DATABASE_URL": fresh_pg(pg_name) if pg_name else f"sqlite:///{db_path}",
        "OO_SCHEDULER": "false",
        "GRANIAN_WORKERS": str(workers),
    }
    for pair in args.env:  # e.g. OO_MODEL_CACHE_SIZE=4096, to compare settings in one session
        key, _, value = pair.partition("=")
        env[key] = value
    if args.loads_per_minute:  # the per-user load limit (30 a minute) caps a closed loop of loads
        env["OO_RATE_LOADS_PER_MINUTE"] = str(args.loads_per_minute)
    if redis_on:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env |= {"OO_REDIS_URL": REDIS_URL}
    sub = argparse.Namespace(**{**vars(args), "clients": clients})
    cookies = WORK / "cookies.txt"
    with AppServer(WORK / "server", env=env, port=None, timeout=600) as server:
        seed(
            {**server.env, "PATH": os.environ["PATH"]},
            clients + (args.idle if name == "idle" else 0),
            cookies,
        )
        serving = None
        if args.shadows is not None:
            serving = keep_shadows({**server.env, "PATH": os.environ["PATH"]}, args.shadows)
            print(f"{label}: serving set {serving}", flush=True)
        started = time.time()
        if name == "idle":
            paced = [*scenario_args("closed", sub), "--think-ms", "1000"]
            base = wsload(server, sub, cookies, label + "-base", paced)
            result = wsload(server, sub, cookies, label, scenario_args("idle", sub))
            result["rss_per_idle_client_mb"] = round(
                (result["server_rss_mb"] - base["server_rss_mb"]) / max(1, result["idle_connected"]), 3
            )
        else:
            spy = profiler(server, args, label)
            result = wsload(server, sub, cookies, label, scenario_args(name, sub))
            if spy is not None:
                spy.wait(timeout=120)
        time.sleep(1.0)  # let the last write-behind flush land before counting
        result |= log_counts(server) | check_reactions(db_path, pg_name)
        result["wall_s"] = round(time.time() - started, 1)
    cpu_pct, eps = result.get("server_cpu_pct"), result.get("events_per_s") or 0
    if cpu_pct is not None and eps:
        result["server_cpu_ms_per_event"] = round(10 * cpu_pct / eps, 3)
    result["workers"], result["redis"], result["spec"], result["postgres"] = workers, redis_on, spec, pg
    result["serving_set"] = serving
    with RESULTS.open("a") as f:
        f.write(json.dumps(result) + "\n")
    lat = result.get("latency_ms", {})
    by = {k: v.get("p50") for k, v in result.get("latency_ms_by_event", {}).items()}
    print(
        f"{label}: {eps} ev/s  p50/p95/p99 {lat.get('p50')}/{lat.get('p95')}/{lat.get('p99')} ms (p50 by event {by})  "
        f"errors {result.get('errors')}  reactions {result['reactions']} (wrong tip {result['wrong_tip']}, "
        f"unapplied {result['unapplied']})  lock expiries {result['lock_expired']} "
        f"(warnings {result['lock_held_too_long']}, tracebacks {result['tracebacks']})  "
        f"server CPU {result.get('server_cpu_ms_per_event')} ms/event ({cpu_pct}%)  "
        f"RSS {result.get('server_rss_mb')} MB  {result.get('rss_per_idle_client_mb', '')}",
        flush=True,
    )
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        if pg_name:
            fresh_pg(pg_name, drop_only=True)
    return result


def main() -> int:
    """Run the scenarios in turn and print/append their numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "scenarios",
        nargs="+",
        help="mix | closed | reactions | idle, optionally :redis[:WORKERS], then optionally :pg",
    )
    ap.add_argument("-c", "--clients", type=int, default=1000)
    ap.add_argument("-d", "--duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--think-ms", type=float, default=1000.0)
    ap.add_argument("--idle", type=int, default=1000, help="idle clients of the idle scenario")
    ap.add_argument("--procs", type=int, default=1, help="generator processes")
    ap.add_argument("--generator", type=Path, default=GENERATOR)
    ap.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    ap.add_argument(
        "--loads-per-minute", type=int, help="OO_RATE_LOADS_PER_MINUTE for the server (default: the app's 30)"
    )
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    ap.add_argument("--profile", type=Path, help="py-spy executable: sample the server during the run")
    ap.add_argument("--shadows", type=int, help="keep only the first N shadow policies (default: all)")
    args = ap.parse_args()
    tip_state_name()
    for spec in args.scenarios:
        if spec.split(":")[0] not in ("mix", "closed", "reactions", "idle"):
            raise SystemExit(f"unknown scenario {spec}")
    for spec in args.scenarios:
        run(spec, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
