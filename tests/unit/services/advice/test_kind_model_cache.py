"""The kind model is decoded once per stored version: a pick reads only its version while cached."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import event, text

from oo.recommender.kind_mix import context
from oo.recommender.store import MAGIC
from oo.services.accounts import sessions as accounts
from oo.services.advice import mixing
from oo.services.sources import catalog as sources
from oo.services.tips import serving

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def reads(session, fn):
    """What ``fn()`` returns, and the SQL statements it ran."""
    statements: list[str] = []
    engine = session.get_bind()

    def count(_conn, _cursor, statement, *_a) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        return fn(), statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_model_bytes_are_read_only_when_the_stored_version_changed(session):
    uid = accounts.create_demo_user(session=session).id
    mixing._cache.clear()
    load = lambda: mixing.load(session=session, user_id=uid)  # noqa: E731
    cold, _ = reads(session, load)
    again, statements = reads(session, load)
    assert again is cold and len(statements) == 1 and "data" not in statements[0].split("FROM")[0]
    ctx = context(hour=19, weekend=False, open_tasks=3, advice_recent=False)
    choice = cold.choose(ctx, np.random.default_rng(1))
    mixing.learn(session=session, user_id=uid, x=choice.x, reward=1.0, now=NOW)
    session.commit()
    learned, statements = reads(session, load)
    assert learned is not cold and len(statements) == 1  # learned here: kept under its new version
    assert learned.choose(ctx, np.random.default_rng(1)).scores != choice.scores  # it learned
    assert reads(session, load)[0] is learned
    session.execute(  # another worker writes a newer version
        text("update model_state set updates = updates + 1 where user_id = :u and policy_key = :k"),
        {"u": uid, "k": mixing.MODEL_KEY},
    )
    session.commit()
    other, statements = reads(session, load)
    assert other is not learned and len(statements) == 2  # the version, then the new bytes
    assert reads(session, load)[0] is other


def test_a_learning_transaction_that_rolls_back_leaves_the_stored_model_in_use(session):
    uid = accounts.create_demo_user(session=session).id
    mixing._cache.clear()
    cold = mixing.load(session=session, user_id=uid)
    ctx = context(hour=19, weekend=False, open_tasks=3, advice_recent=False)
    mixing.learn(
        session=session, user_id=uid, x=cold.choose(ctx, np.random.default_rng(1)).x, reward=1.0, now=NOW
    )
    session.rollback()
    after = mixing.load(session=session, user_id=uid)
    assert (
        after.choose(ctx, np.random.default_rng(1)).scores
        == cold.choose(ctx, np.random.default_rng(1)).scores
    )


def test_a_model_learned_over_a_stored_one_is_kept_under_the_version_it_wrote(session):
    uid = accounts.create_demo_user(session=session).id
    mixing._cache.clear()
    ctx = context(hour=19, weekend=False, open_tasks=3, advice_recent=False)
    x = mixing.load(session=session, user_id=uid).choose(ctx, np.random.default_rng(1)).x
    for minute in range(3):  # the first write inserts the row; the next ones update it
        mixing.learn(session=session, user_id=uid, x=x, reward=1.0, now=NOW.replace(minute=minute))
        session.commit()
        _, statements = reads(session, lambda: mixing.load(session=session, user_id=uid))
        assert len(statements) == 1, statements  # the version only: the bytes were not read again


def test_the_kind_model_is_stored_binary_and_learned_on_a_copy(session):
    """Both write paths store the compact binary format, and the cached model a picker holds stays as it was."""
    uid = accounts.create_demo_user(session=session).id
    sources.connect_demo(session=session, user_id=uid)
    mixing._cache.clear()
    ctx = context(hour=19, weekend=False, open_tasks=3, advice_recent=False)
    held = mixing.load(session=session, user_id=uid)
    before = held.model.get_state()
    x = held.choose(ctx, np.random.default_rng(1)).x
    mixing.learn(session=session, user_id=uid, x=x, reward=1.0, now=NOW)
    session.commit()
    assert held.model.get_state() == before  # a picker holding it saw no half-taught model
    stored = lambda: bytes(  # noqa: E731
        session.execute(
            text("select data from model_state where user_id = :u and policy_key = :k"),
            {"u": uid, "k": mixing.MODEL_KEY},
        ).scalar_one()
    )
    assert stored()[:4] == MAGIC
    first = stored()
    tip = serving.show_in(session, user_id=uid).tip.tip_id  # a served tip, given the kind features
    logged = json.dumps({mixing.FEATURES_KEY: x})
    session.execute(text("update tip_view set features = :f where id = :id"), {"f": logged, "id": tip})
    session.commit()
    learned = mixing.load(session=session, user_id=uid)
    state = learned.model.get_state()
    assert mixing.learn_from_tips_once(session=session, tips=[(uid, tip, logged, 1.0)], now=NOW).learned == 1
    assert learned.model.get_state() == state
    assert stored()[:4] == MAGIC and stored() != first
