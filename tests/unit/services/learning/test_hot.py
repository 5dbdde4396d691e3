"""Learner models hot in memory, written behind: learned at once, persisted once, never lost."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from oo import db, settings
from oo.models import ModelState, TipFeedback
from oo.recommender import POLICY_SPECS
from oo.recommender.linucb import LinUCBPolicy
from oo.services.accounts import sessions as accounts
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner, policies
from oo.services.learning.policies import serving_set
from oo.services.sources import catalog as sources
from oo.services.tips import recommend as recommend_module
from oo.services.tips import serving as tips

LEARNERS = sum(spec.name != "random" for spec in POLICY_SPECS)


def _forget_memory() -> None:  # what a crash loses
    learner.cache.clear()
    learner.pending.clear()
    learner_hot._dirty.clear()


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(recommend_module, "BUDGET_SECONDS", 5.0)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    _forget_memory()
    policies.invalidate()
    SQLModel.metadata.create_all(db.get_engine())
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s
    _forget_memory()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture
def uid(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def stored(session, uid) -> dict[str, tuple[int, bytes]]:
    session.expire_all()
    rows = session.exec(select(ModelState).where(ModelState.user_id == uid)).all()
    return {r.policy_key: (r.updates, r.data) for r in rows}


def applied(session) -> list[bool]:
    session.expire_all()
    return [r.applied_at is not None for r in session.exec(select(TipFeedback).order_by(TipFeedback.id))]


def react(session, uid, key: str, reaction: str = "helpful") -> tips.Reacted:
    shown = tips.show_in(session, user_id=uid)
    return tips.react_in(session, user_id=uid, reaction=reaction, key=key, tip_ref=shown.ref)


def scores(session, uid) -> dict[str, list[float]]:
    refs = [r for r in serving_set(session=session).all if r.learns]
    models = learner.get_models(session=session, user_id=uid, refs=refs)
    return {k: m.score([dict.fromkeys(m.features, 0.5)]) for k, m in models.items()}


def test_a_reaction_is_learned_at_once_and_written_behind_once(session, uid):
    cold = scores(session, uid)
    react(session, uid, "k1")
    warm = scores(session, uid)
    assert warm["linucb@3"] != cold["linucb@3"], "the next pick already uses what was learned"
    assert stored(session, uid) == {} and applied(session) == [False], "nothing written yet"
    assert learner_hot.flush() == 1
    assert {k: u for k, (u, _) in stored(session, uid).items()} == {
        spec.key: 1 for spec in POLICY_SPECS if spec.name != "random"
    }
    assert applied(session) == [True] and learner_hot.pending_count() == 0
    assert scores(session, uid) == warm
    _forget_memory()  # a restart reads exactly what memory had
    assert scores(session, uid) == warm


def test_a_crash_before_the_flush_loses_nothing_and_learns_once(session, uid):
    react(session, uid, "k1", "done")
    react(session, uid, "k2", "dismiss")
    memory = scores(session, uid)
    _forget_memory()  # the process died before writing
    assert applied(session) == [False, False]
    assert learner.apply_pending(session=session, older_than=__import__("datetime").timedelta(0)) == 2
    assert applied(session) == [True, True]
    assert scores(session, uid) == memory
    assert learner_hot.flush() == 0


def test_another_worker_writing_first_is_replayed_not_overwritten(session, uid):
    react(session, uid, "k1")
    assert learner_hot.flush() == 1
    react(session, uid, "k2")
    # Another worker flushed its own reaction of this user meanwhile: the stored version moved on.
    session.execute(text("update model_state set updates = updates + 1"))
    session.commit()
    before = stored(session, uid)
    assert learner_hot.flush() == 1  # reloaded the newer stored model and replayed k2 onto it
    after = stored(session, uid)
    assert {u for u, _ in after.values()} == {3} and applied(session) == [True, True]
    assert all(after[k][1] != before[k][1] for k in after)
    assert learner_hot.pending_count() == 0


def test_a_reaction_the_outbox_applied_meanwhile_is_not_learned_twice(session, uid):
    reacted = react(session, uid, "k1")
    memory = scores(session, uid)
    assert learner.apply(session=session, feedback_id=reacted.feedback.feedback_id)  # the outbox job
    assert learner_hot.flush() == 0 and learner_hot.pending_count() == 0
    assert {u for u, _ in stored(session, uid).values()} == {1}
    assert scores(session, uid) == memory


def test_reset_discards_what_memory_learned(session, uid):
    react(session, uid, "k1")
    learner.reset(session=session, user_id=uid)
    assert learner_hot.pending_count() == 0 and applied(session) == [True]
    assert learner_hot.flush() == 0 and stored(session, uid) == {}


def race_after_the_versions_are_read(monkeypatch, sql: str, params: dict | None = None) -> None:
    """Another worker runs ``sql`` right after the flush read the stored versions."""
    real = learner_hot._snapshot

    def racing(*a, **kw):
        snap = real(*a, **kw)
        with Session(db.get_engine()) as other:
            other.execute(text(sql), params or {})
            other.commit()
        return snap

    monkeypatch.setattr(learner_hot, "_snapshot", racing)


def test_a_version_that_moves_during_the_flush_rolls_back_and_retries(session, uid, monkeypatch):
    react(session, uid, "k1")
    race_after_the_versions_are_read(
        monkeypatch,
        "insert into model_state (user_id, policy_key, data, updates, updated_at) "
        "select user_id, 'linucb@3', x'', 5, '2026-01-01' from tip_feedback limit 1",
    )
    # The batch is rolled back whole; the careful path reloads the newer row and replays k1 onto it.
    assert learner_hot.flush() == 1 and applied(session) == [True]
    assert stored(session, uid)["linucb@3"][0] == 6 and learner_hot.pending_count() == 0


def test_a_stored_model_that_moves_during_the_flush_rolls_the_whole_batch_back(session, uid, monkeypatch):
    react(session, uid, "k1")
    assert learner_hot.flush() == 1  # every model now has a stored row: the next flush updates
    react(session, uid, "k2")
    before = stored(session, uid)
    race_after_the_versions_are_read(
        monkeypatch,
        "update model_state set updates = updates + 1 where user_id = :u and policy_key = 'linucb@2'",
        {"u": uid},
    )
    # No model of the batch is written over the moved one; the careful path replays k2 onto it.
    assert learner_hot.flush() == 1 and applied(session) == [True, True]
    after = stored(session, uid)
    assert after["linucb@2"][0] == before["linucb@2"][0] + 2
    assert all(after[k][0] == before[k][0] + 1 for k in before if k != "linucb@2")
    assert learner_hot.pending_count() == 0


def test_many_users_are_written_in_one_transaction(session):
    users = []
    for _ in range(5):
        user = accounts.create_demo_user(session=session)
        sources.connect_demo(session=session, user_id=user.id)
        users.append(user.id)
    for i, u in enumerate(users):
        react(session, u, f"a{i}")
    assert learner_hot.flush() == 5
    for i, u in enumerate(users):
        react(session, u, f"b{i}")
    commits = []
    listener = lambda *_a: commits.append(1)  # noqa: E731
    __import__("sqlalchemy").event.listen(db.get_engine(), "commit", listener)
    try:
        assert learner_hot.flush() == 5
    finally:
        __import__("sqlalchemy").event.remove(db.get_engine(), "commit", listener)
    assert len(commits) == 1
    assert applied(session) == [True] * 10
    assert {u for u, _ in stored(session, users[0]).values()} == {2}


def test_learning_on_a_copy_leaves_the_cached_model_as_it_was():
    """Copy-on-write: readers of the cached model never see a half-taught one (arrays, change detector)."""
    from oo.recommender import POLICY_SPECS
    from oo.services.learning.learner import build_policy

    spec = next(s for s in POLICY_SPECS if s.name == "linucb" and "change" in s.params)
    original = build_policy(spec.name, spec.version, spec.params, seed=1)
    before = original.get_state()
    twin = original.learning_copy()
    for _ in range(5):
        twin.learn(dict.fromkeys(original.features[:3], 1.0), 1.0)
    assert twin.get_state() != before
    assert original.get_state() == before


def test_a_copy_to_learn_on_shares_only_what_learning_never_changes():
    """`learning_copy` shares LinUCB's constants; every version's learning and restoring leave them as they were."""
    for spec in (s for s in POLICY_SPECS if s.name == "linucb"):
        original = learner.build_policy(spec.name, spec.version, spec.params, seed=1)
        assert LinUCBPolicy.SHARED.issubset(vars(original))  # a renamed one would be copied again
        frozen = {name: copy.deepcopy(getattr(original, name)) for name in LinUCBPolicy.SHARED}
        twin = original.learning_copy()
        assert all(getattr(twin, n) is getattr(original, n) for n in LinUCBPolicy.SHARED)
        for i in range(60):
            twin.learn({f: float((i + j) % 3) for j, f in enumerate(original.features)}, (-1.0) ** i)
        twin.set_state(twin.get_state())
        for name, value in frozen.items():
            now = getattr(original, name)
            assert np.array_equal(now, value) if isinstance(value, np.ndarray) else now == value, name


def test_the_model_cache_keeps_as_many_models_as_configured(monkeypatch):
    """``OO_MODEL_CACHE_SIZE`` bounds the hot models (least recently used go first)."""
    from oo.services.learning.learner import ModelCache

    monkeypatch.setenv("OO_MODEL_CACHE_SIZE", "64")
    settings.get_settings.cache_clear()
    cache = ModelCache()
    assert cache.size == 64
    for user_id in range(100):
        cache.put((user_id, "linucb@5"), object())  # type: ignore[arg-type]
        if user_id == 50:
            assert cache.get((0, "linucb@5")) is not None  # used: it outlives the ones put after it
    assert len(cache) == 64 and cache.get((0, "linucb@5")) is not None
    assert cache.get((36, "linucb@5")) is None and cache.get((37, "linucb@5")) is not None
    monkeypatch.delenv("OO_MODEL_CACHE_SIZE")
    settings.get_settings.cache_clear()
    assert ModelCache().size == 16_384 and ModelCache(size=8).size == 8
