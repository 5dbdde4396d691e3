"""improved@3 / linucb@6: the calendar and the task's length in the pick, from hand-built contexts."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from oo.recommender import IMPROVED_CALENDAR, IMPROVED_EVENING, REWARDS, Context, TaskView, build_policy
from oo.recommender.task_length import LONG, SHORT, estimate_minutes

NOW = datetime(2025, 3, 12, 10, 30, tzinfo=UTC)  # a Wednesday morning
ADDED = NOW - timedelta(days=3)
SHORT_TASK = TaskView("short", 2, ADDED, minutes=15.0)
LONG_TASK = TaskView("long", 2, ADDED, minutes=120.0)
UNKNOWN = Context(NOW)
SHORT_SLOT = Context(NOW, calendar_known=True, free_minutes=25.0)
FREE_DAY = Context(NOW, calendar_known=True, free_minutes=None)
BUSY = Context(NOW, calendar_known=True, busy_now=True)


def test_an_unknown_calendar_adds_nothing_but_the_task_length():
    x = IMPROVED_CALENDAR.encode(SHORT_TASK, UNKNOWN)
    assert tuple(x) == IMPROVED_CALENDAR.feature_names and len(x) == 40
    assert {k: x[k] for k in IMPROVED_EVENING.feature_names} == IMPROVED_EVENING.encode(SHORT_TASK, UNKNOWN)
    calendar_terms = ("cal_known", "busy_now", "short_slot", "fits_slot", "overruns_slot")
    assert all(x[k] == 0.0 for k in calendar_terms) and all(
        x[k] == 0.0 for k in x if "*" in k and "slot" in k
    )
    assert (x["len_known"], x["len_short"], x["len_long"]) == (1.0, 1.0, 0.0)


def test_the_calendar_terms_of_a_short_slot_a_free_day_and_busy_time():
    short = IMPROVED_CALENDAR.encode(SHORT_TASK, SHORT_SLOT)
    long_ = IMPROVED_CALENDAR.encode(LONG_TASK, SHORT_SLOT)
    assert (short["short_slot"], short["len_short*short_slot"], short["fits_slot"]) == (1.0, 1.0, 1.0)
    assert (long_["len_long*short_slot"], long_["overruns_slot"], long_["fits_slot"]) == (1.0, 1.0, 0.0)
    free = IMPROVED_CALENDAR.encode(LONG_TASK, FREE_DAY)
    assert (free["cal_known"], free["short_slot"], free["fits_slot"], free["overruns_slot"]) == (1, 0, 1, 0)
    busy = IMPROVED_CALENDAR.encode(LONG_TASK, BUSY)
    assert (busy["busy_now"], busy["len_long*busy_now"], busy["short_slot"], busy["fits_slot"]) == (
        1,
        1,
        0,
        0,
    )
    nolen = IMPROVED_CALENDAR.encode(TaskView("x", 2, ADDED), SHORT_SLOT)
    assert (
        nolen["len_known"] == nolen["fits_slot"] == nolen["overruns_slot"] == 0.0 and nolen["short_slot"] == 1
    )


@pytest.mark.parametrize(
    "context", [UNKNOWN, SHORT_SLOT, FREE_DAY, BUSY], ids=["unknown", "slot", "free", "busy"]
)
def test_batch_equals_single_with_lengths_and_calendars(context):
    tasks = [
        SHORT_TASK,
        LONG_TASK,
        TaskView("n", 4, ADDED, due_at=NOW + timedelta(hours=2)),
        TaskView("m", 1, ADDED, minutes=45.0),
    ]
    X = IMPROVED_CALENDAR.encode_batch(tasks, context)
    expected = np.array([[IMPROVED_CALENDAR.encode(t, context)[k] for k in X.names] for t in tasks])
    np.testing.assert_array_equal(X.values, expected)


def _gap(policy, context):
    """Score of the short task minus the long one's (no exploration bonus, same priority and age)."""
    X = IMPROVED_CALENDAR.encode_batch([SHORT_TASK, LONG_TASK], context)
    if policy.encoder != IMPROVED_CALENDAR.key:
        X = IMPROVED_EVENING.encode_batch([SHORT_TASK, LONG_TASK], context)
    means = [policy.mean_and_std(X.row(i))[0] for i in range(2)]
    return means[0] - means[1]


def _teach(policy, encoder, rounds=40):
    """A user who does the short task in a short slot and the long one when the day is free."""
    for i in range(rounds):
        slot = i % 2 == 0
        ctx = SHORT_SLOT if slot else FREE_DAY
        x_short = encoder.encode(SHORT_TASK, ctx)
        x_long = encoder.encode(LONG_TASK, ctx)
        policy.learn(x_short, REWARDS["done"] if slot else REWARDS["dismiss"])
        policy.learn(x_long, REWARDS["dismiss"] if slot else REWARDS["done"])


def test_a_short_free_slot_raises_short_tasks_once_learned():
    policy = build_policy("linucb", 6, seed=0)
    assert _gap(policy, SHORT_SLOT) == pytest.approx(0.0)  # cold start: the calendar weights are zero
    _teach(policy, IMPROVED_CALENDAR)
    assert _gap(policy, SHORT_SLOT) > 0.3  # the short task now wins in a short slot ...
    assert _gap(policy, FREE_DAY) < -0.3  # ... and the long one on a free day
    assert _gap(policy, SHORT_SLOT) > _gap(policy, UNKNOWN) + 0.3  # the slot, not the length alone
    index, _, _ = policy.choose(IMPROVED_CALENDAR.encode_batch([LONG_TASK, SHORT_TASK], SHORT_SLOT))
    assert index == 1


def test_linucb5_cannot_learn_it_without_the_calendar():
    policy = build_policy("linucb", 5, seed=0)
    _teach(policy, IMPROVED_EVENING)
    assert _gap(policy, SHORT_SLOT) == pytest.approx(_gap(policy, FREE_DAY))


def test_linucb6_is_a_shadow_of_linucb5_on_improved3():
    six, five = build_policy("linucb", 6), build_policy("linucb", 5)
    assert six.encoder == "improved@3"
    assert {**six.params, "encoder": None, "features": None} == {
        **five.params,
        "encoder": None,
        "features": None,
    }


@pytest.mark.parametrize(
    ("content", "labels", "duration", "expected"),
    [
        ("Call the plumber", [], None, SHORT),
        ("email Anna about Friday", [], None, SHORT),
        ("Write the quarterly report", [], None, LONG),
        ("Tax return 2h", [], None, 120),
        ("Stretch 10 min", [], None, 10),
        ("Tidy the desk", ["quick"], None, SHORT),
        ("Tidy the desk", ["Deep-Work"], None, LONG),
        ("Tidy the desk", ["25m"], None, 25),
        ("Write the quarterly report", [], 30.0, 30),  # the source's duration wins
        ("Tidy the desk", [], None, None),
        ("", [], None, None),
    ],
)
def test_task_length_estimate(content, labels, duration, expected):
    assert estimate_minutes(content, labels, duration) == expected
