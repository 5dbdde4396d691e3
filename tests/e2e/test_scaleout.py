"""Scale-out (D3) in a real browser: Postgres, Redis-backed Reflex state with two workers, NATS bus."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import at
from tests.support.app_server import AppServer

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def scaled_app(tmp_path_factory) -> Iterator[AppServer]:
    name = f"oo_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        "OO_DEMO": "true",
        "OO_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "OO_REDIS_URL": "redis://127.0.0.1:6379/7",
        "OO_BUS_URL": "nats://127.0.0.1:4222",
        "GRANIAN_WORKERS": "2",
        "OO_ADVICE_DEFAULT": "false",  # task journeys: no advice drawn in between (test_advice.py)
    }
    try:
        with AppServer(tmp_path_factory.mktemp("oo-scaled"), env=env) as server:
            yield server
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_demo_journey_on_postgres_redis_nats_two_workers(page, scaled_app):
    page.goto(f"{scaled_app.url}/signin")
    page.get_by_role("button", name="Try the demo").click()
    page.wait_for_url(at("/connect"))
    page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("status-demo")).to_have_text("Connected")
    page.goto(f"{scaled_app.url}/tip")
    tip = page.get_by_test_id("tip")
    expect(tip).to_be_visible()
    for _ in range(3):
        first = tip.inner_text()
        tip.click()
        page.get_by_role("button", name="Done").click()
        expect(tip).not_to_have_text(first)
    with psycopg.connect(scaled_app.env["OO_DATABASE_URL"].replace("+psycopg", "")) as conn:
        done = conn.execute("select count(*) from task where completed_at is not null").fetchone()[0]
    assert done == 3
