"""Feature encoders: exact textbook features, batch == single, time-zone handling."""

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from oo.recommender import ENCODERS, IMPROVED, TEXTBOOK, Context, TaskView, get_encoder
from oo.recommender.simulation import make_population, make_rounds

NOW = datetime(2025, 3, 15, 21, 45, tzinfo=timezone(timedelta(hours=-5)))  # Saturday evening


def test_textbook_encoder_has_exactly_the_five_raw_features():
    task = TaskView("t", 2, NOW - timedelta(days=3, hours=12), due_at=NOW - timedelta(minutes=1))
    assert TEXTBOOK.encode(task, Context(NOW)) == {
        "is_overdue": 1.0,
        "task_age_days": 3.5,
        "priority": 2.0,
        "hour_of_day": 21.0,
        "day_of_week": 5.0,
    }
    assert TEXTBOOK.feature_names == ("is_overdue", "task_age_days", "priority", "hour_of_day", "day_of_week")


def test_improved_encoder_features_are_bounded_and_named():
    x = IMPROVED.encode(TaskView("t", 1, NOW, due_date=NOW.date()), Context(NOW))
    assert tuple(x) == IMPROVED.feature_names
    assert x["bias"] == 1.0 and x["weekend"] == 1.0 and x["due_soon"] == 1.0 and x["overdue"] == 0.0
    assert x["prio_2"] == x["prio_3"] == x["prio_4"] == 0.0
    assert x["hour_sin"] ** 2 + x["hour_cos"] ** 2 == pytest.approx(1.0)
    assert all(-1.0 <= v <= 1.0 for k, v in x.items() if k != "age_log")


@pytest.mark.parametrize("encoder", list(ENCODERS.values()), ids=list(ENCODERS))
def test_batch_encoding_equals_the_single_task_function(encoder):
    rounds = make_rounds(make_population(1, seed=3)[0], 40, seed=3)
    for r in rounds:
        X = encoder.encode_batch(r.tasks, r.context)
        assert X.names == encoder.feature_names
        expected = np.array([[encoder.encode(t, r.context)[k] for k in X.names] for t in r.tasks])
        np.testing.assert_allclose(X.values, expected, rtol=1e-12, atol=1e-12)
    assert len(encoder.encode_batch([], Context(NOW))) == 0


def test_due_dates_are_read_in_the_users_calendar():
    # 23:30 in UTC-5 is already the next day in UTC: the local date decides.
    now = datetime(2025, 3, 14, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    task = TaskView("t", 1, now - timedelta(days=1), due_date=date(2025, 3, 14))
    assert not task.is_overdue(now)
    assert task.is_overdue(now.astimezone(UTC)) is True  # same instant, a UTC "now" would be wrong
    assert task.is_due_soon(now)


def test_task_added_in_the_future_has_zero_age():
    assert TaskView("t", 1, NOW + timedelta(hours=2)).age_days(NOW) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"priority": 0},
        {"priority": 5},
        {"added_at": datetime(2025, 1, 1)},
        {"due_at": datetime(2025, 1, 1)},
    ],
)
def test_task_view_rejects_invalid_fields(kwargs):
    fields = {"task_id": "t", "priority": 1, "added_at": NOW, **kwargs}
    with pytest.raises(ValueError):
        TaskView(**fields)


def test_context_requires_an_aware_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        Context(datetime(2025, 1, 1, 9))


def test_encoders_are_versioned_and_looked_up_by_key():
    assert sorted(ENCODERS) == ["improved@1", "improved@2", "improved@3", "textbook@1"]
    assert get_encoder("improved@1") is IMPROVED
    with pytest.raises(KeyError, match="unknown encoder"):
        get_encoder("improved@9")


def test_the_encoders_of_one_pick_share_their_common_parts(monkeypatch):
    from oo.recommender import features, features_evening

    calls = {"columns": 0, "improved": 0, "evening": 0}
    for module, name, key in (
        (features.TaskBatch, "_columns", "columns"),
        (features, "_improved_matrix", "improved"),
        (features_evening, "_improved_evening_matrix", "evening"),
    ):
        real = getattr(module, name)

        def counted(*a, _real=real, _key=key, **kw):
            calls[_key] += 1
            return _real(*a, **kw)

        monkeypatch.setattr(module, name, counted)
    views = [
        features.TaskView("a", 4, datetime(2026, 11, 1, tzinfo=UTC), due_date=date(2026, 11, 30)),
        features.TaskView("b", 1, datetime(2026, 10, 1, tzinfo=UTC)),
    ]
    batch = features.TaskBatch.from_views(views)
    ctx = features.Context(datetime(2026, 11, 29, 19, tzinfo=UTC))
    out = {
        k: get_encoder(k).encode_batch(batch, ctx)
        for k in ("textbook@1", "improved@1", "improved@2", "improved@3")
    }
    assert calls == {"columns": 1, "improved": 1, "evening": 1}
    for key, matrix in out.items():  # the same numbers as encoding each task alone
        for i, view in enumerate(views):
            assert matrix.row(i) == pytest.approx(get_encoder(key).encode(view, ctx))
    later = features.Context(datetime(2026, 11, 29, 20, tzinfo=UTC))  # another moment: computed anew
    get_encoder("improved@1").encode_batch(batch, later)
    assert calls == {"columns": 2, "improved": 2, "evening": 1}


def test_a_batch_encoded_at_many_moments_keeps_a_bounded_memo():
    from oo.recommender import features, tasks

    batch = features.TaskBatch.from_views([features.TaskView("a", 2, datetime(2026, 11, 1, tzinfo=UTC))])
    start = datetime(2026, 11, 29, tzinfo=UTC)
    for minute in range(200):  # as the shared empty batch of users with no open task
        ctx = features.Context(start + timedelta(minutes=minute))
        for key in ("textbook@1", "improved@1", "improved@2", "improved@3"):
            get_encoder(key).encode_batch(batch, ctx)
    assert len(batch._memo) <= tasks._MEMO_SIZE
