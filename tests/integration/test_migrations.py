"""Migrations: `reflex db migrate` on an empty database reaches head, and the models have no drift."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import oo.models  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def migrate(env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OO_")}
    bin_dir = str(ROOT / ".venv" / "bin")
    result = subprocess.run(
        [f"{bin_dir}/reflex", "db", "migrate"],
        cwd=ROOT,
        env={**clean, **env, "PATH": f"{bin_dir}:{clean['PATH']}"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def drift(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar()
    engine.dispose()
    assert version, "alembic_version is empty"
    return diff


def test_sqlite_migrates_to_head_without_drift(tmp_path):
    migrate({"OO_DATA_DIR": str(tmp_path)})
    assert drift(f"sqlite:///{tmp_path / 'oo.db'}") == []


@pytest.mark.scaleout
def test_postgres_migrates_to_head_without_drift():
    name = f"oo_mig_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        migrate({"OO_DATABASE_URL": url})
        assert drift(url) == []
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
