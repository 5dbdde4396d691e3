"""normalize_task: due kinds resolved in the user's zone, priorities, labels and tolerant parsing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from oo.integrations.todoist import TodoistTask, TodoistUser, normalize_task

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "todoist"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def page_task(index: int, page: str = "tasks_page1.json") -> dict[str, Any]:
    return load_fixture(page)["results"][index]


def test_all_day_due_stays_a_calendar_date() -> None:
    task = normalize_task(page_task(0), "Pacific/Auckland")
    assert (task.due_kind, task.due_date, task.due_at) == ("date", date(2025, 4, 10), None)


@pytest.mark.parametrize(
    ("zone", "offset_hours"),
    [("Europe/Berlin", 2), ("Asia/Tokyo", 9), ("America/Los_Angeles", -7)],
)
def test_floating_due_is_wall_clock_time_in_user_zone(zone: str, offset_hours: int) -> None:
    task = normalize_task(page_task(1), zone)
    assert task.due_kind == "floating"
    assert task.due_date == date(2025, 4, 10)
    assert task.due_at is not None
    assert (task.due_at.hour, task.due_at.minute) == (9, 30)
    assert task.due_at.utcoffset() == timedelta(hours=offset_hours)
    assert task.is_recurring is True


def test_fixed_due_is_a_utc_instant_dated_in_user_zone() -> None:
    berlin = normalize_task(page_task(2), "Europe/Berlin")
    new_york = normalize_task(page_task(2), "America/New_York")
    instant = datetime(2025, 4, 10, 23, 30, tzinfo=UTC)
    assert berlin.due_kind == new_york.due_kind == "fixed"
    assert berlin.due_at == new_york.due_at == instant
    assert berlin.due_at is not None and berlin.due_at.utcoffset() == timedelta(0)
    assert berlin.due_date == date(2025, 4, 11)
    assert new_york.due_date == date(2025, 4, 10)


def test_floating_due_in_a_dst_gap_is_still_aware() -> None:
    task = normalize_task(page_task(1, "tasks_page2.json"), "Europe/Berlin")
    assert task.due_kind == "floating"
    assert task.due_at is not None and task.due_at.tzinfo == ZoneInfo("Europe/Berlin")
    assert task.due_date == date(2025, 3, 30)


def test_no_due() -> None:
    task = normalize_task(page_task(0, "tasks_page2.json"), "Europe/Berlin")
    assert (task.due_kind, task.due_date, task.due_at, task.is_recurring) == ("none", None, None, False)


def test_priority_labels_deadline_and_added_at() -> None:
    task = normalize_task(page_task(0), "Europe/Berlin")
    assert task.priority == 4
    assert task.labels == ("work", "quick")
    assert task.deadline == date(2025, 4, 12)
    assert task.added_at == datetime(2025, 4, 3, 3, 14, 15, 926536, tzinfo=UTC)
    assert task.added_at is not None and task.added_at.tzinfo is UTC
    assert (task.checked, task.is_deleted, task.url) == (False, False, None)


@pytest.mark.parametrize(("raw", "expected"), [(0, 1), (1, 1), (3, 3), (4, 4), (9, 4)])
def test_priority_is_kept_within_one_to_four(raw: int, expected: int) -> None:
    assert normalize_task({"id": "x", "priority": raw}, "UTC").priority == expected


def test_numeric_ids_become_strings_and_unknown_fields_are_ignored() -> None:
    task = normalize_task({"id": 42, "project_id": 7, "content": "x", "whatever": {"a": 1}}, "UTC")
    assert (task.id, task.project_id) == ("42", "7")


def test_webhook_task_keeps_url_and_checked() -> None:
    data = load_fixture("webhook_item_completed.json")["event_data"]
    task = normalize_task(TodoistTask.model_validate(data), "Europe/Berlin")
    assert task.checked is True
    assert task.url is not None and task.url.endswith("6X7rM8997g3RQmvh")


def test_unknown_user_zone_falls_back_to_utc() -> None:
    task = normalize_task(page_task(1), "Mars/Olympus_Mons")
    assert task.due_at is not None and task.due_at.utcoffset() == timedelta(0)


def test_legacy_datetime_key_is_tolerated() -> None:
    raw = {"id": "1", "due": {"date": "2025-04-10", "datetime": "2025-04-10T08:00:00Z", "timezone": "UTC"}}
    task = normalize_task(raw, "Europe/Berlin")
    assert task.due_kind == "fixed"
    assert task.due_at == datetime(2025, 4, 10, 8, tzinfo=UTC)


def test_user_timezone_comes_from_tz_info() -> None:
    assert TodoistUser.model_validate(load_fixture("user.json")).timezone == "Europe/Berlin"
    assert TodoistUser.model_validate({"id": 1}).timezone == "UTC"
