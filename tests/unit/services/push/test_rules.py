"""Quiet hours across midnight and DST, the local day for the daily cap."""

from datetime import UTC, datetime

import pytest

from oo.services.push.rules import QuietHoursError, is_quiet, local_day_start, parse_quiet_hours


@pytest.mark.parametrize("bad", ["22", "22-24", "a-b", "-1-3", "22-8-1"])
def test_bad_quiet_hours_are_refused(bad):
    with pytest.raises(QuietHoursError):
        parse_quiet_hours(bad)


def test_equal_bounds_mean_no_quiet_hours():
    assert parse_quiet_hours("8-8") is None


@pytest.mark.parametrize(
    ("hour", "quiet"), [(21, False), (22, True), (23, True), (0, True), (7, True), (8, False), (12, False)]
)
def test_window_crossing_midnight(hour, quiet):
    now = datetime(2026, 6, 1, hour, 15, tzinfo=UTC)
    assert is_quiet(now, (22, 8), "UTC") is quiet


def test_window_within_a_day():
    assert is_quiet(datetime(2026, 6, 1, 13, tzinfo=UTC), (12, 14), "UTC")
    assert not is_quiet(datetime(2026, 6, 1, 14, tzinfo=UTC), (12, 14), "UTC")


def test_quiet_hours_follow_the_users_zone_through_dst():
    # 06:30 UTC is 07:30 in Berlin in winter (quiet) and 08:30 in summer (not quiet).
    assert is_quiet(datetime(2026, 1, 15, 6, 30, tzinfo=UTC), (22, 8), "Europe/Berlin")
    assert not is_quiet(datetime(2026, 7, 15, 6, 30, tzinfo=UTC), (22, 8), "Europe/Berlin")


def test_unknown_zone_falls_back_to_utc():
    assert is_quiet(datetime(2026, 7, 15, 23, tzinfo=UTC), (22, 8), "Mars/Olympus")


def test_local_day_start_on_dst_days():
    # The autumn change in New York: the local day still starts at local midnight (04:00 UTC in EDT).
    assert local_day_start(datetime(2026, 11, 1, 15, tzinfo=UTC), "America/New_York") == datetime(
        2026, 11, 1, 4, tzinfo=UTC
    )
