"""scripts/seed_demo_users: N demo users with sources and sessions, one cookie line each; never in production."""

from __future__ import annotations

import importlib.util
import stat
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, select

from oo import settings
from oo.models import Integration, Task, User
from oo.services.accounts import sessions as accounts

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("seed_demo_users", ROOT / "scripts" / "seed_demo_users.py")
seeder = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seeder)


@pytest.fixture
def engine(app_session):
    return app_session.get_bind()


def test_seeds_users_with_sources_and_working_sessions(engine, tmp_path):
    out = tmp_path / "cookies.txt"
    assert seeder.main(["5", "--cookies", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 5 and all(line.startswith("oo_session=") for line in lines)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with Session(engine) as s:
        users = {
            accounts.resolve_session(session=s, token=line.split("=", 1)[1], idle_days=7).id for line in lines
        }
        assert len(users) == 5
        for uid in users:
            assert s.exec(select(Integration.status).where(Integration.user_id == uid)).all() == ["connected"]
            assert len(s.exec(select(Task).where(Task.user_id == uid)).all()) >= 15
            assert s.get(User, uid).is_demo


def test_refused_in_production(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("OO_ENV", "production")
    settings.get_settings.cache_clear()
    out = tmp_path / "cookies.txt"
    assert seeder.main(["3", "--cookies", str(out)]) == 2
    assert not out.exists()
    with Session(engine) as s:
        assert s.exec(select(User)).all() == []
    wrapper = subprocess.run(
        [str(ROOT / "scripts" / "seed_demo_users"), "3", "--cookies", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"OO_ENV": "production", "PATH": "/usr/bin:/bin"},
    )
    assert wrapper.returncode == 2 and "refused in production" in wrapper.stderr and not out.exists()


def test_bad_counts_are_refused(engine, tmp_path):
    for n in ("0", "-1", str(seeder.MAX_USERS + 1)):
        assert seeder.main([n, "--cookies", str(tmp_path / "c.txt")]) == 2
