"""NATS-style subject patterns used by subscribe and tail."""

from __future__ import annotations

import pytest

from oo.bus.base import matches, validate_pattern


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("signals.task.synced", "signals.task.synced", True),
        ("signals.task.synced", "signals.task.completed", False),
        ("signals.task.*", "signals.task.synced", True),
        ("signals.task.*", "signals.tip.served", False),
        ("signals.task.*", "signals.task", False),
        ("signals.task.*", "signals.task.synced.more", False),
        ("signals.*.served", "signals.tip.served", True),
        ("*.*.*", "signals.tip.served", True),
        ("signals.>", "signals.tip.served", True),
        ("signals.>", "signals.admin.action", True),
        ("signals.>", "signals", False),
        ("signals.tip.>", "signals.task.synced", False),
        (">", "signals.tip.served", True),
    ],
)
def test_matches_follows_nats_wildcards(pattern, subject, expected):
    assert matches(pattern, subject) is expected


@pytest.mark.parametrize("pattern", ["signals.>.tip", "signals..tip", "signals.ti*", "", "signals.>>"])
def test_validate_pattern_rejects_malformed_patterns(pattern):
    with pytest.raises(ValueError):
        validate_pattern(pattern)
