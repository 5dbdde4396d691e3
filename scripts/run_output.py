"""Filter Reflex's console output for `scripts/run`: say where oO really is, drop misleading lines.

Reflex announces ``App running at: http://0.0.0.0:PORT/`` (an address a browser cannot use as
an origin), tells the reader to ``Run `uv run reflex run```, and shows a compile counter that can
read ``51/50``. This filter reads Reflex's output line by line, drops those lines, and prints
where to open oO instead (both loopback names in development) with the demo-admin hint.
Everything else passes through unchanged. Usage: ``reflex run ... 2>&1 | python scripts/run_output.py``.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DROP = (
    re.compile(r"Run `.*reflex run`"),  # reflex init's next step: scripts/run already runs it
    re.compile(r"^\s*Compiling:"),  # a progress counter that can read 51/50
)
RUNNING = re.compile(r"App running at:")


def banner() -> list[str]:
    """The lines that replace Reflex's ``App running at``."""
    from oo.loopback import aliases_on
    from oo.settings import get_settings

    settings = get_settings()
    lines = [f"oO is running: open {settings.base_url}"]
    if aliases_on(settings):
        other = settings.base_url.replace("localhost", "127.0.0.1", 1)
        if other == settings.base_url:
            other = settings.base_url.replace("127.0.0.1", "localhost", 1)
        lines[0] += f" (or {other})"
    if settings.demo_enabled:
        lines.append("Demo mode: press 'Try the demo' on the sign-in page; no credentials needed.")
        if settings.demo_admin:
            lines.append(f"Demo admin is on: demo users are admins, so {settings.base_url}/admin opens.")
        else:
            lines.append(
                "To try the admin console at /admin, start with OO_DEMO_ADMIN=true (development only)."
            )
    return lines


def main() -> int:
    """Copy stdin to stdout, dropping and replacing Reflex's misleading lines."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops Reflex; keep its last words
    for line in sys.stdin:
        if any(p.search(line) for p in DROP):
            continue
        if RUNNING.search(line):
            try:
                print("\n".join(banner()), flush=True)
            except Exception as exc:  # never hide that the app runs because the banner failed
                print(f"oO is running ({exc})", flush=True)
            continue
        sys.stdout.write(line)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
