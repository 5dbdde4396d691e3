"""Applying Todoist /sync answers to the task cache (captured fixtures, SQLite, no network)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from oo.integrations.todoist import SyncResult
from oo.models import Integration, SourceAction, Task, User, utcnow
from oo.services.sources.todoist.cache import apply_sync

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "todoist"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def user_id(session) -> int:
    user = User(name="Ada", timezone="Europe/Berlin")
    session.add(user)
    session.commit()
    session.add(Integration(user_id=user.id, provider="todoist", status="connected", credentials="x"))
    session.commit()
    return user.id


def tasks(session, user_id: int) -> dict[str, Task]:
    return {t.external_id: t for t in session.exec(select(Task).where(Task.user_id == user_id)).all()}


def item(id_: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "content": f"Task {id_}", "checked": False, "is_deleted": False, **fields}


def sync(session, user_id: int, body: dict[str, Any], *, full: bool, tz: str = "Europe/Berlin"):
    return apply_sync(
        session=session, user_id=user_id, result=SyncResult.model_validate(body), full=full, timezone=tz
    )


def test_full_sync_fills_the_cache_with_normalized_tasks(session, user_id):
    counts = sync(session, user_id, load("sync_full"), full=True)
    cached = tasks(session, user_id)
    assert counts.upserted == 2 and counts.removed == 0 and counts.total == 2
    report = cached["6X7rM8997g3RQmvh"]
    assert report.content == "Send the quarterly report" and report.priority == 4
    assert (
        report.labels == "work,quick" and report.due_kind == "date" and report.due_date == date(2025, 4, 10)
    )
    assert report.url == "https://app.todoist.com/app/task/6X7rM8997g3RQmvh"
    standup = cached["6X7rfFVPjhvv84XG"]
    assert standup.is_recurring and standup.due_kind == "floating"
    assert standup.due_at is not None and standup.due_at.utcoffset().total_seconds() == 0  # stored as UTC
    integration = session.exec(select(Integration)).one()
    assert integration.sync_token == load("sync_full")["sync_token"] and integration.last_sync_at is not None


def test_incremental_sync_removes_completed_and_deleted_and_adds_new(session, user_id):
    sync(session, user_id, load("sync_full"), full=True)
    counts = sync(session, user_id, load("sync_incremental"), full=False)
    assert set(tasks(session, user_id)) == {"6X7rmR5Vq4Wc8HpJ"}
    assert (counts.upserted, counts.removed, counts.total) == (1, 2, 1)


def test_full_sync_drops_tasks_todoist_no_longer_lists(session, user_id):
    sync(session, user_id, {"sync_token": "t1", "items": [item("a"), item("b")]}, full=True)
    counts = sync(session, user_id, {"sync_token": "t2", "items": [item("b")]}, full=True)
    assert set(tasks(session, user_id)) == {"b"} and counts.removed == 1


def test_done_in_oo_stays_done_while_the_close_is_pending(session, user_id):
    sync(session, user_id, {"sync_token": "t1", "items": [item("a", due={"date": "2025-04-10"})]}, full=True)
    task = tasks(session, user_id)["a"]
    task.completed_at = utcnow()
    session.add(task)
    session.add(SourceAction(user_id=user_id, task_id=task.id, source="todoist", external_id="a"))
    session.commit()
    sync(session, user_id, {"sync_token": "t2", "items": [item("a", due={"date": "2025-04-10"})]}, full=True)
    assert tasks(session, user_id)["a"].completed_at is not None


def test_a_recurring_task_that_moved_on_reopens(session, user_id):
    due = {"date": "2025-04-10", "is_recurring": True, "string": "every day"}
    sync(session, user_id, {"sync_token": "t1", "items": [item("r", due=due)]}, full=True)
    task = tasks(session, user_id)["r"]
    task.completed_at = utcnow()
    session.add(task)
    session.add(SourceAction(user_id=user_id, task_id=task.id, source="todoist", external_id="r"))
    session.commit()
    advanced = {**due, "date": "2025-04-11"}
    sync(session, user_id, {"sync_token": "t2", "items": [item("r", due=advanced)]}, full=False)
    reopened = tasks(session, user_id)["r"]
    assert reopened.completed_at is None and reopened.due_date == date(2025, 4, 11)


def test_unreadable_uncompletable_and_odd_ids_are_skipped(session, user_id):
    body = {
        "sync_token": "t1",
        "items": [
            item("ok"),
            item("bad-date", due={"date": "next tuesday"}),
            item("header", content="* Section header"),
            item("x" * 65),
            item("", content="no id"),
        ],
        "unknown_resource": [{"whatever": 1}],
    }
    counts = sync(session, user_id, body, full=True)
    assert set(tasks(session, user_id)) == {"ok"} and counts.total == 1


def test_duplicate_items_in_one_answer_make_one_row(session, user_id):
    sync(
        session,
        user_id,
        {"sync_token": "t1", "items": [item("d", content="old"), item("d", content="new")]},
        full=True,
    )
    assert tasks(session, user_id)["d"].content == "new"


def test_a_new_time_zone_is_stored_and_forces_a_full_sync_next_time(session, user_id):
    sync(session, user_id, {"sync_token": "t1", "items": []}, full=True)
    body = {
        "sync_token": "t2",
        "items": [item("f", due={"date": "2025-04-10T09:00:00"})],
        "user": {"id": "1", "tz_info": {"timezone": "America/New_York"}},
    }
    sync(session, user_id, body, full=False)
    assert session.get(User, user_id).timezone == "America/New_York"
    assert session.exec(select(Integration)).one().sync_token is None
    floating = tasks(session, user_id)["f"]
    assert floating.due_at == datetime.fromisoformat("2025-04-10T13:00:00+00:00")


def test_nothing_is_written_after_a_disconnect(session, user_id):
    session.delete(session.exec(select(Integration)).one())
    session.commit()
    counts = sync(session, user_id, load("sync_full"), full=True)
    assert counts.total == 0 and tasks(session, user_id) == {}
