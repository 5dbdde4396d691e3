"""Bench: the bare framework on this machine — a minimal Reflex app under the same generator as load.py.

Usage:
    OO_WSLOAD=../shared/tools/wsload.py .venv/bin/python bench/bare_reflex.py     # ~3 min (first build ~1 min)
    options: -c CLIENTS (1000), -d SECONDS (30), --warmup SECONDS (20), --generator PATH (wsload.py)

Issue 15 sets its targets against a minimal Reflex 0.10 app measured on another machine (993
served events/s paced, 3,015 closed loop); this script measures that reference *here*, so a run of
`bench/load.py` can be read as a share of the bare framework on the same host (the closed-loop
target is "half the bare framework's").

The app (written under ``data/bench_bare/``, its production build reused between runs): one
state with one handler that changes one var (``view_key``), one page at ``/tip``, the same GC
thresholds as oO's server (`oo.app`'s ``gc.set_threshold``), no database, no auth. It runs like
oO (``reflex run --env prod --single-port``, one worker, disk state manager). The generator runs
the two shapes of `bench/load.py`: **paced** (C clients, each one event a second on average) and
**closed** (C clients, each sending its next event when the answer arrived). Prints served
events/s, p50/p99 and server CPU per event; appends to ``data/bench_bare/bare.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "data" / "bench_bare"
GENERATOR = Path(os.environ.get("OO_WSLOAD", ROOT.parent / "shared" / "tools" / "wsload.py"))
EVENT = "reflex___state____state.bare___bare____bare_state.tick"

APP = '''"""A minimal Reflex app: one var changed by one handler (bench/bare_reflex.py)."""

import gc

import reflex as rx

gc.set_threshold(50_000, 20, 100)  # as oO's server


class BareState(rx.State):
    """One counter, sent back as view_key on every event."""

    view_key: str = ""
    n: int = 0

    @rx.event
    def tick(self, key: str = "", ref: str = "") -> None:
        """Change one var (the generator counts an answer when view_key is in its delta)."""
        self.n += 1
        self.view_key = str(self.n)


def index() -> rx.Component:
    """The page."""
    return rx.text(BareState.view_key)


app = rx.App()
app.add_page(index, route="/tip")
'''

CONFIG = """import os

import reflex as rx

port = int(os.environ["BARE_PORT"])
config = rx.Config(
    app_name="bare",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=port,
    backend_port=port,
    api_url=f"http://localhost:{port}",
)
"""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_app() -> Path:
    """The app's files under WORK/app (rewritten only when they change, so the build is reused)."""
    app_dir = WORK / "app"
    (app_dir / "bare").mkdir(parents=True, exist_ok=True)
    (app_dir / "assets").mkdir(exist_ok=True)
    for path, text in ((app_dir / "rxconfig.py", CONFIG), (app_dir / "bare" / "bare.py", APP)):
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    (app_dir / "bare" / "__init__.py").touch()
    return app_dir


def tool_env() -> dict[str, str]:
    """The environment `scripts/run` gives Reflex (node and bun from the venv, no telemetry)."""
    out = subprocess.run(
        ["bash", "-c", ". .tools/env.sh && env -0"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    return {k: v for k, v in env.items() if not k.startswith("OO_")} | {"REFLEX_ENV_MODE": "prod"}


def start(app_dir: Path, port: int, log: Path) -> subprocess.Popen:
    """``reflex run --env prod --single-port`` in the app's directory; returns once /ping answers."""
    env = tool_env() | {"BARE_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    reflex = str(ROOT / ".venv" / "bin" / "reflex")
    cmd = [
        reflex,
        "run",
        "--env",
        "prod",
        "--single-port",
        "--frontend-port",
        str(port),
        "--backend-port",
        str(port),
    ]
    proc = subprocess.Popen(
        cmd, cwd=app_dir, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bare app exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"the bare app did not start; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the app's process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def run_generator(args: argparse.Namespace, port: int, pid: int, label: str, think_ms: float) -> dict:
    """One generator run; its JSON summary."""
    out = WORK / f"{label}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable, str(args.generator), "--url", f"http://127.0.0.1:{port}", "-c", str(args.clients),
        "-w", str(args.warmup), "-d", str(args.duration), "--pathname", "/tip", "--done-field", "view_key",
        "--prime", EVENT, "-e", EVENT, "-p", "{}", "--server-pid", str(pid), "--label", label,
        "--json", str(out), *(["--think-ms", str(think_ms)] if think_ms else []),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=args.duration + args.warmup + 400, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text().strip().splitlines()[-1])


def main() -> int:
    """Build and start the bare app, run the two shapes, print and append the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-c", "--clients", type=int, default=1000)
    ap.add_argument("-d", "--duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--generator", type=Path, default=GENERATOR)
    args = ap.parse_args()
    app_dir = write_app()
    port = free_port()
    proc = start(app_dir, port, WORK / "app.log")
    try:
        for shape, think in (("paced", 1000.0), ("closed", 0.0)):
            label = f"bare-{shape}-c{args.clients}"
            result = run_generator(args, port, proc.pid, label, think)
            eps, cpu = result.get("events_per_s") or 0, result.get("server_cpu_pct")
            result["server_cpu_ms_per_event"] = round(10 * cpu / eps, 3) if cpu is not None and eps else None
            with (WORK / "bare.jsonl").open("a") as f:
                f.write(json.dumps(result) + "\n")
            lat = result.get("latency_ms", {})
            print(
                f"{label}: {eps} ev/s  p50/p99 {lat.get('p50')}/{lat.get('p99')} ms  errors {result.get('errors')}  "
                f"server CPU {result['server_cpu_ms_per_event']} ms/event ({cpu}%)",
                flush=True,
            )
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
