"""The advice library: the shipped data, the idempotent versioned seed, audited admin writes, the switch."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from oo.models import AdminAction, Advice, User
from oo.services.accounts import sessions as accounts
from oo.services.admin import advice as advice_admin
from oo.services.admin.inputs import AdminInputError
from oo.services.advice import library, preferences
from oo.settings import get_settings

TAGS = {"time": ["evening"], "energy": "low", "minutes": 2, "contexts": ["end_of_day"]}


def test_the_shipped_library_has_at_least_60_valid_tagged_pieces():
    version, pieces = library.shipped()
    assert version >= 1 and len(pieces) >= 60
    assert len({p["key"] for p in pieces}) == len(pieces)
    assert {p["topic"] for p in pieces} == {"breaks", "movement", "focus", "planning", "rest", "kindness"}
    for p in pieces:
        tags = library.parse_tags(json.loads(p["tags"]))
        assert 0 < len(p["text"]) <= library.MAX_TEXT and tags.time and tags.contexts
    every_part = {t for p in pieces for t in json.loads(p["tags"])["time"]}
    assert every_part == set(library.TIMES), "advice for every part of the day"
    assert sum(1 for p in pieces if p["rationale"]) >= 30, "most pieces say what they rest on"


def test_the_seed_is_idempotent(session):
    first = library.seed(session=session)
    assert first["inserted"] >= 60 and first["updated"] == 0
    again = library.seed(session=session)
    assert again == {"inserted": 0, "updated": 0, "kept": first["inserted"]}


def test_two_workers_seeding_at_once_both_start(session, monkeypatch):
    """Another worker inserts the pieces between this one's read and its commit: no crash, no double."""
    from sqlmodel import Session

    real_now, raced = library.utcnow, []

    def other_worker_seeds_first():
        if not raced:
            raced.append(True)
            with Session(session.get_bind()) as other:
                library._seed_once(other)
        return real_now()

    monkeypatch.setattr(library, "utcnow", other_worker_seeds_first)
    counts = library.seed(session=session)
    assert raced and counts["inserted"] == 0 and counts["kept"] == len(library.shipped()[1])
    assert len(session.exec(select(Advice)).all()) == len(library.shipped()[1])


def test_an_upgrade_keeps_operator_edited_and_retired_pieces(session):
    library.seed(session=session)
    admin = accounts.create_demo_user(session=session)
    mine = advice_admin.create(
        session=session, admin_id=admin.id, data={"text": "Mine.", "tags": TAGS, "key": "mine"}
    )
    edited = session.exec(select(Advice).where(Advice.key == "b001")).one()
    advice_admin.update(session=session, admin_id=admin.id, advice_id=edited.id, data={"text": "Edited."})
    retired = session.exec(select(Advice).where(Advice.key == "b002")).one()
    advice_admin.set_status(session=session, admin_id=admin.id, advice_id=retired.id, status="retired")
    stale = session.exec(select(Advice).where(Advice.key == "b003")).one()
    original = stale.text
    for row in session.exec(select(Advice).where(Advice.source == "builtin")).all():
        row.version, row.text = 0, row.text if row.key in ("b001",) else "old wording"
        session.add(row)
    session.delete(session.exec(select(Advice).where(Advice.key == "b004")).one())
    session.commit()
    counts = library.seed(session=session)
    assert counts["inserted"] == 1  # b004 came back
    assert session.get(Advice, stale.id).text == original  # an untouched built-in piece is rewritten
    assert session.get(Advice, edited.id).text == "Edited."
    assert session.get(Advice, retired.id).status == "retired"
    assert session.get(Advice, mine.id).text == "Mine." and session.get(Advice, mine.id).source == "operator"


def test_every_library_write_has_its_audit_row(session):
    library.seed(session=session)
    admin = accounts.create_demo_user(session=session)
    row = advice_admin.create(
        session=session, admin_id=admin.id, data={"text": "A thing.", "topic": "rest", "tags": TAGS}
    )
    advice_admin.update(
        session=session, admin_id=admin.id, advice_id=row.id, data={"tags": {**TAGS, "minutes": 5}}
    )
    advice_admin.set_status(session=session, admin_id=admin.id, advice_id=row.id, status="retired")
    advice_admin.set_status(session=session, admin_id=admin.id, advice_id=row.id, status="active")
    audit = session.exec(select(AdminAction)).all()
    assert [(a.action, a.target, a.admin_id) for a in audit] == [
        ("advice.create", f"advice:{row.key}", admin.id),
        ("advice.update", f"advice:{row.key}", admin.id),
        ("advice.retire", f"advice:{row.key}", admin.id),
        ("advice.restore", f"advice:{row.key}", admin.id),
    ]
    assert json.loads(audit[1].params) == {"fields": ["tags"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "  ", "tags": TAGS}, "text is required"),
        ({"text": "x" * 281, "tags": TAGS}, "at most 280"),
        ({"text": "ok", "tags": {**TAGS, "energy": "max"}}, "energy"),
        ({"text": "ok", "tags": {**TAGS, "contexts": ["party"]}}, "unknown contexts"),
        ({"text": "ok", "tags": {**TAGS, "minutes": True}}, "minutes"),
        ({"text": "ok", "tags": TAGS, "topic": "sports"}, "topic"),
        ({"text": "ok", "tags": TAGS, "key": "Bad Key"}, "key"),
        ({"text": "ok", "tags": TAGS, "key": "b001"}, "already"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(session, data, message):
    library.seed(session=session)
    before = len(session.exec(select(Advice)).all())
    with pytest.raises(AdminInputError, match=message):
        advice_admin.create(session=session, admin_id=1, data=data)
    session.rollback()
    assert len(session.exec(select(Advice)).all()) == before
    assert session.exec(select(AdminAction)).all() == []


def test_the_switch_follows_the_server_default_until_the_user_sets_it(session, monkeypatch):
    user = accounts.create_demo_user(session=session)
    assert session.get(User, user.id).advice_enabled is None
    assert preferences.is_enabled(session=session, user_id=user.id) is True  # on by default
    monkeypatch.setattr(get_settings(), "advice_default", False)
    assert preferences.is_enabled(session=session, user_id=user.id) is False
    preferences.set_enabled(session=session, user_id=user.id, enabled=True)
    assert preferences.is_enabled(session=session, user_id=user.id) is True
    with pytest.raises(ValueError, match="true or false"):
        preferences.set_enabled(session=session, user_id=user.id, enabled="false")  # type: ignore[arg-type]
    assert session.get(User, user.id).advice_enabled is True
