"""Done closes the task in Todoist: the outbox against the loopback fake (retries, 401, recurring)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from oo import db, singletons
from oo.bus import Event, TipFeedback
from oo.jobs import run_source_actions
from oo.jobs.wiring import subscriptions
from oo.models import Integration, SourceAction, Task, utcnow
from oo.services.platform import event_bus as events
from oo.services.platform.keyring import keyring
from oo.services.sources import actions as source_actions
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from tests.integration.todoist_env import configure, connect, rows

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
async def env(app_env, make_tables, monkeypatch, server):
    configure(monkeypatch, server)
    make_tables()
    monkeypatch.setattr("oo.integrations.todoist.client.BACKOFF_BASE", 0.001)
    yield
    await todoist.close_http()


def done_in_oo(user_id: int, external_id: str) -> int:
    """What the feedback service does on Done: the task completed and a close queued, in one commit."""
    with Session(db.get_engine()) as session:
        row = session.exec(select(Task).where(Task.user_id == user_id, Task.external_id == external_id)).one()
        row.completed_at = utcnow()
        action = SourceAction(user_id=user_id, task_id=row.id, source="todoist", external_id=external_id)
        session.add_all([row, action])
        session.commit()
        return action.id


def action(action_id: int) -> SourceAction:
    [row] = rows(SourceAction, SourceAction.id == action_id)
    return row


async def settle(user_id: int) -> None:
    """Wait for the user's background close run, then for the cache refresh it started."""
    for registry in (source_actions._kicks, todoist_sync._inflight):
        task = registry.get(user_id)
        if task is not None:
            await asyncio.wait({task}, timeout=10)


async def test_done_closes_the_task_at_todoist_and_it_leaves_the_cache(server):
    user_id, token = connect(server, tasks=3)
    await todoist_sync.sync_user(user_id=user_id)
    target = next(
        t
        for t in server.fake.active_ids(token)
        if not (server.fake.task(token, t)["due"] or {}).get("is_recurring")
    )
    action_id = done_in_oo(user_id, target)
    report = await run_source_actions.run()
    assert report["done"] == 1 and server.fake.closed_ids(token) == [target]
    assert action(action_id).status == "done"
    await settle(user_id)
    assert target not in {t.external_id for t in rows(Task, Task.user_id == user_id)}
    assert (await run_source_actions.run())["done"] == 0  # nothing twice


async def test_a_recurring_task_advances_and_comes_back_with_its_next_date(server):
    user_id, token = connect(server)
    task = server.fake.add_task(
        token, content="Water plants", due_date="2030-05-01", due_string="every day", is_recurring=True
    )
    await todoist_sync.sync_user(user_id=user_id)
    done_in_oo(user_id, task["id"])
    await source_actions.run_due(user_id=user_id)
    await settle(user_id)
    assert server.fake.task(token, task["id"])["due"]["date"] == "2030-05-02"
    [cached] = rows(Task, Task.user_id == user_id)
    assert cached.completed_at is None and cached.due_date.isoformat() == "2030-05-02"


async def test_a_401_waits_for_a_reconnect_without_losing_the_close(server):
    user_id, token = connect(server, tasks=1)
    await todoist_sync.sync_user(user_id=user_id)
    target = server.fake.active_ids(token)[0]
    action_id = done_in_oo(user_id, target)
    server.fake.revoked_tokens.add(token)
    report = await source_actions.run_due()
    assert report.waiting == 1
    [integration] = rows(Integration, Integration.user_id == user_id)
    assert integration.status == "needs_reconnect"
    assert action(action_id).status == "pending" and action(action_id).attempts == 0
    assert (await source_actions.run_due()).waiting == 0  # not retried while disconnected

    server.fake.revoked_tokens.discard(token)  # the user reconnects (same account, new grant)
    with Session(db.get_engine()) as session:
        todoist.save_connection(
            session=session,
            user_id=user_id,
            credentials=keyring().encrypt(token),
            external_user_id=integration.external_user_id,
            timezone="UTC",
            scopes="",
        )
    assert (await source_actions.run_due()).done == 1
    assert server.fake.closed_ids(token) == [target]


async def test_failures_back_off_then_give_up_with_a_logged_error(server, caplog):
    user_id, token = connect(server, tasks=1)
    await todoist_sync.sync_user(user_id=user_id)
    action_id = done_in_oo(user_id, server.fake.active_ids(token)[0])
    server.fake.fail_next(2, 503)
    assert (await source_actions.run_due()).retried == 1
    row = action(action_id)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow()
    assert "503" in row.last_error

    with Session(db.get_engine()) as session:
        pending = session.get(SourceAction, action_id)
        pending.attempts, pending.next_attempt_at = (
            source_actions.MAX_ATTEMPTS - 1,
            utcnow() - timedelta(seconds=1),
        )
        session.add(pending)
        session.commit()
    server.fake.fail_next(2, 500)
    with caplog.at_level(logging.ERROR, logger="oo.source_actions"):
        assert (await source_actions.run_due()).failed == 1
    assert action(action_id).status == "failed" and "giving up" in caplog.text
    assert server.fake.closed_ids(token) == []


async def test_a_task_already_gone_at_todoist_counts_as_closed(server):
    user_id, token = connect(server, tasks=1)
    await todoist_sync.sync_user(user_id=user_id)
    target = server.fake.active_ids(token)[0]
    action_id = done_in_oo(user_id, target)
    server.fake.delete_externally(token, target)
    assert (await source_actions.run_due()).done == 1 and action(action_id).status == "done"


async def test_concurrent_runs_close_a_task_once(server):
    user_id, token = connect(server, tasks=1)
    await todoist_sync.sync_user(user_id=user_id)
    done_in_oo(user_id, server.fake.active_ids(token)[0])
    server.fake.delay_next(1, 0.3)
    reports = await asyncio.gather(*(source_actions.run_due() for _ in range(4)))
    assert sum(r.done for r in reports) == 1 and len(server.fake.closed_ids(token)) == 1


async def test_a_done_on_the_bus_closes_at_once(server, monkeypatch):
    monkeypatch.setenv("OO_SCHEDULER", "false")  # only the bus subscription (oo.jobs.wiring): no periodic job
    singletons.reset()
    user_id, token = connect(server, tasks=1)
    await todoist_sync.sync_user(user_id=user_id)
    target = server.fake.active_ids(token)[0]
    done_in_oo(user_id, target)
    async with subscriptions():
        await events.publish(Event.of(TipFeedback(tip_id="t1", reaction="done", reward=1.0), user_id=user_id))
        await events.bus().drain(5)
        await settle(user_id)
    assert server.fake.closed_ids(token) == [target]


async def test_a_retry_after_an_ambiguous_failure_never_skips_an_occurrence(server):
    """Todoist closed the recurring task but answered 500: the retry (same command uuid) is a no-op."""
    user_id, token = connect(server)
    task = server.fake.add_task(
        token, content="Take pills", due_date="2030-05-01", due_string="every day", is_recurring=True
    )
    await todoist_sync.sync_user(user_id=user_id)
    action_id = done_in_oo(user_id, task["id"])
    server.fake.fail_after_next(1, 500)  # the close runs, then the answer is lost
    report = await source_actions.run_due(user_id=user_id)
    await settle(user_id)
    with Session(db.get_engine()) as session:  # and the outbox tries again later, too
        row = session.get(SourceAction, action_id)
        if row.status == "pending":
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
            session.add(row)
            session.commit()
    await source_actions.run_due(user_id=user_id)
    await settle(user_id)
    assert report.done + report.retried == 1
    assert server.fake.task(token, task["id"])["due"]["date"] == "2030-05-02"  # one occurrence, not two
    assert action(action_id).status == "done"


async def test_an_undo_after_the_close_went_out_reopens_the_task_at_todoist(server):
    user_id, token = connect(server, tasks=3)
    await todoist_sync.sync_user(user_id=user_id)
    target = next(
        t
        for t in server.fake.active_ids(token)
        if not (server.fake.task(token, t)["due"] or {}).get("is_recurring")
    )
    done_in_oo(user_id, target)
    assert (await run_source_actions.run())["done"] == 1 and server.fake.task(token, target)["checked"]
    with Session(db.get_engine()) as session:  # what an Undo queues when the close had gone out
        session.add(SourceAction(user_id=user_id, source="todoist", external_id=target, action="reopen"))
        session.commit()
    assert (await run_source_actions.run())["done"] == 1
    assert server.fake.task(token, target)["checked"] is False
