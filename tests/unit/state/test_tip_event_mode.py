"""/tip's service handlers are background events only where the tab's state lock can expire (Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HANDLERS = ("load", "take_back", "done", "snooze", "dismiss", "helpful", "not_helpful")
PROBE = (
    "import json, sys\n"
    "from oo.state.tip import TipState\n"
    "print(json.dumps({n: TipState.event_handlers[n].is_background for n in sys.argv[1:]}))\n"
)


def _probe(env: dict[str, str], code: str, *args: str) -> str:
    """The last line ``code`` prints, run in a fresh interpreter with ``env``."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(("redis_url", "background"), [("", False), ("redis://127.0.0.1:6379/15", True)])
def test_service_handlers_run_in_the_background_only_with_redis(tmp_path, redis_url, background):
    # A fresh interpreter: the mode is fixed when oo.state.tip is imported (Reflex registers handlers then).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OO_", "REFLEX_REDIS"))}
    env |= {"OO_DATA_DIR": str(tmp_path), "OO_REDIS_URL": redis_url}
    modes = json.loads(_probe(env, PROBE, *HANDLERS))
    assert modes == dict.fromkeys(HANDLERS, background)


OPLOCK_PROBE = (
    "from reflex_base.config import get_config\n"
    "get_config()  # loads rxconfig.py, as the app does before its state manager starts\n"
    "from reflex_base.environment import environment\n"
    "print(environment.REFLEX_OPLOCK_ENABLED.get())\n"
)


@pytest.mark.parametrize(
    ("redis_url", "oplock", "enabled"),
    [
        ("", "", False),  # one worker: no Redis state manager
        ("redis://127.0.0.1:6379/15", "", True),  # the default with Redis
        ("redis://127.0.0.1:6379/15", "false", False),  # turned off
    ],
)
def test_the_redis_state_manager_holds_a_busy_tab_s_lock_unless_turned_off(
    tmp_path, redis_url, oplock, enabled
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OO_", "REFLEX_REDIS", "REFLEX_OPLOCK"))}
    env |= {"OO_DATA_DIR": str(tmp_path), "OO_REDIS_URL": redis_url}
    env |= {"OO_REDIS_OPLOCK": oplock} if oplock else {}
    assert _probe(env, OPLOCK_PROBE) == str(enabled)
