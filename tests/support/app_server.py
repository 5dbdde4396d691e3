"""Run the real oO app (production build, `scripts/run`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`scripts/run` with the given OO_ environment; ``url`` once /ping answers."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        timeout: float = 240.0,
        root: Path = ROOT,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.data_dir = data_dir
        self.timeout = timeout
        self.root = root
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OO_")},
            "OO_PORT": str(self.port),
            "OO_BASE_URL": self.url,
            "OO_DATA_DIR": str(data_dir),
            # Each server builds its own frontend, so parallel test runs never overwrite each other's.
            "REFLEX_WEB_WORKDIR": str(data_dir / "web"),
            "REFLEX_STATES_WORKDIR": str(data_dir / "states"),
            **(env or {}),
        }
        self.log_path = data_dir / "app.log"
        self.proc: subprocess.Popen | None = None
        self.startup_seconds = 0.0

    def __enter__(self) -> AppServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        start = time.monotonic()
        self.proc = subprocess.Popen(
            [str(self.root / "scripts" / "run")],
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = start + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited early ({self.proc.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    self.startup_seconds = time.monotonic() - start
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"app did not start within {self.timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        """The last lines of the app's log."""
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
