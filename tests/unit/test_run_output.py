"""`make run` says where to open oO and drops Reflex's misleading lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFLEX_SAYS = """\
Success: Initialized oo. Run `uv run reflex run` to start the app.
Compiling: ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100% 51/50 0:00:02
Creating Production Build:  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100% 4/4 0:00:11
App running at: http://0.0.0.0:3917/
Info: something else
"""


def run(tmp_path: Path, **env: str) -> str:
    base = {"PATH": "/usr/bin:/bin", "OO_PORT": "3917", "OO_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_output.py")],
        input=REFLEX_SAYS,
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd="/",  # no .env file is read
        check=True,
        timeout=60,
    )
    return out.stdout


def test_prints_both_loopback_addresses_and_the_demo_admin_hint(tmp_path):
    out = run(tmp_path)
    assert "oO is running: open http://localhost:3917 (or http://127.0.0.1:3917)" in out
    assert "OO_DEMO_ADMIN=true" in out and "Info: something else" in out
    for misleading in ("App running at", "uv run reflex run", "51/50", "0.0.0.0"):
        assert misleading not in out


def test_demo_admin_on_and_a_public_base_url(tmp_path):
    out = run(tmp_path, OO_DEMO_ADMIN="true")
    assert "Demo admin is on" in out
    out = run(tmp_path, OO_BASE_URL="https://oo.example.com", OO_DEMO="false", OO_GOOGLE_CLIENT_ID="x")
    assert "oO is running: open https://oo.example.com\n" in out and "Demo" not in out
