"""The admin advice form: what an admin types becomes a validated piece, or a clear message."""

from __future__ import annotations

import pytest

from admin.state.advice import form_data
from oo.services.admin.inputs import AdminInputError

GOOD = {
    "text": "Stand up and stretch.",
    "topic": "movement",
    "time": "morning, afternoon",
    "energy": "low",
    "minutes": "2",
    "contexts": "after_focus, workday",
    "rationale": "",
}


def test_a_filled_form_becomes_tags_as_the_library_stores_them():
    data = form_data(GOOD)
    assert data["tags"] == {
        "time": ["morning", "afternoon"],
        "energy": "low",
        "minutes": 2,
        "contexts": ["after_focus", "workday"],
    }
    assert data["text"] == GOOD["text"] and data["topic"] == "movement"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"minutes": "two"}, "minutes"),
        ({"minutes": "-1"}, "minutes"),
        ({"time": "breakfast"}, "unknown time"),
        ({"contexts": ""}, "contexts"),
        ({"energy": "turbo"}, "energy"),
        ({"time": "morning," * 60}, "comma-separated"),
    ],
)
def test_a_bad_form_is_a_clear_message(change, message):
    with pytest.raises(AdminInputError, match=message):
        form_data({**GOOD, **change})


def test_a_form_that_is_not_a_dict_is_refused():
    with pytest.raises(AdminInputError):
        form_data(["text"])
