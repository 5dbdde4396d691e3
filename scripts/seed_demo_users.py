"""Seed N demo users, each with the demo source connected and a session, for load benchmarks.

    scripts/seed_demo_users 1000 --cookies data/bench_cookies.txt

Writes one ``oo_session=<token>`` line per user to the cookies file (mode 0600), the Cookie
header a benchmark client sends on the websocket handshake. Runs against ``OO_DATABASE_URL``
(migrated first by the wrapper). Refused in production (``OO_ENV=production``): the tokens are
real sessions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oo.cookies import session_cookie_name  # noqa: E402
from oo.db import session_scope  # noqa: E402
from oo.services.accounts import sessions as accounts  # noqa: E402
from oo.services.sources import catalog as sources  # noqa: E402
from oo.settings import SettingsError, get_settings  # noqa: E402

MAX_USERS = 10_000


class Refused(Exception):
    """Seeding is not allowed here (production, or a bad count)."""


def seed(n: int, cookies: Path) -> int:
    """Create ``n`` demo users with the demo source and a session; write their cookies. Returns n."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise Refused(f"settings refused: {exc}") from exc
    if settings.env == "production" or os.environ.get("OO_ENV") == "production":
        raise Refused("seed_demo_users is refused in production")
    if not 1 <= n <= MAX_USERS:
        raise Refused(f"N must be 1..{MAX_USERS}")
    name = session_cookie_name(settings.secure_cookies)
    lines = []
    with session_scope() as session:
        for _ in range(n):
            user = accounts.create_demo_user(session=session)
            assert user.id is not None
            sources.connect_demo(session=session, user_id=user.id)
            token = accounts.create_session(session=session, user_id=user.id, days=settings.session_days)
            lines.append(f"{name}={token}\n")
    cookies.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(cookies, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(lines)
    return n


def main(argv: list[str] | None = None) -> int:
    """Command line: ``N --cookies FILE``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="how many demo users")
    ap.add_argument(
        "--cookies", type=Path, required=True, help="file for one oo_session=<token> line per user"
    )
    args = ap.parse_args(argv)
    try:
        seed(args.n, args.cookies)
    except Refused as exc:
        print(f"seed_demo_users: {exc}", file=sys.stderr)
        return 2
    print(f"seeded {args.n} demo users; cookies in {args.cookies}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
