"""Outside servers a fault test owns: its own redis-server / nats-server on a free loopback port.

A fault test stops and restarts these at will; the machine's shared Redis (6379) and NATS (4222)
are never touched. `restart` keeps the port (and NATS's JetStream store directory), as a real
restart does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.app_server import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class OwnServer:
    """One server process on 127.0.0.1:``port``; ``start``/``stop``/``restart``."""

    def __init__(self, argv: list[str], port: int) -> None:
        self.argv, self.port = argv, port
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> OwnServer:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.argv[0]} did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()


def redis_server() -> OwnServer:
    """A throwaway Redis (no persistence: a restart forgets every key, like a fresh node)."""
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return OwnServer(argv, port)


def nats_server(store_dir: Path) -> OwnServer:
    """A throwaway NATS with JetStream, its file store in ``store_dir``."""
    port = free_port()
    argv = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store_dir)]
    return OwnServer(argv, port)
