"""Each /tip request's SQL, counted: a budget that fails when a change adds statements.

The budgets are today's counts (warm caches, as in a running server: serving set and models
loaded, session remembered). Raise one only with a reason in the commit message.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event
from sqlmodel import Session, SQLModel

from oo import db, settings
from oo.recommender import POLICY_SPECS
from oo.services.accounts import session_cache
from oo.services.accounts import sessions as accounts
from oo.services.learning import hot as learner_hot
from oo.services.learning import policies
from oo.services.sources import catalog as sources
from oo.services.tips import recommend as recommend_module
from oo.services.tips import serving as tips

# show: integrations, open tasks, the user row with their model versions (the Advice switch comes
# with them), the tip_view and tip_score inserts, the task text
SHOW_BUDGET = 6
# react (a Helpful): the first-reaction claim that reads the tip back, the feedback insert, model
# versions, then a show (a Done, Snooze or Dismiss also reads and updates its task)
REACT_BUDGET = 3 + SHOW_BUDGET
# a reload of the tip on screen (`reshow`): integrations, then the latest tip with its task and switch
RELOAD_BUDGET = 2
# stored versions, the applied claim, then one model write per learning policy (linucb@1-5)
FLUSH_BUDGET_ONE_USER = 2 + sum(spec.name != "random" for spec in POLICY_SPECS)


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(recommend_module, "BUDGET_SECONDS", 5.0)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    policies.invalidate()
    SQLModel.metadata.create_all(db.get_engine())
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s
    db.get_engine.cache_clear()


class Counter:
    def __init__(self, engine) -> None:
        self.engine, self.statements = engine, []

    def __enter__(self) -> Counter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_a) -> None:
        self.statements.append(statement.split()[0].upper())

    @property
    def n(self) -> int:
        return sum(s not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE") for s in self.statements)


def test_a_tip_load_and_a_reaction_stay_within_their_sql_budget(session):
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    token = accounts.create_session(session=session, user_id=user.id, days=30)
    shown = tips.show_in(session, user_id=user.id, timezone="UTC")  # warm: registry, models
    tips.react_in(session, user_id=user.id, reaction="helpful", key="warm", tip_ref=shown.ref, timezone="UTC")
    learner_hot.flush()
    session_cache.resolve(token)
    engine = db.get_engine()
    with Counter(engine) as auth:
        assert session_cache.resolve(token) is not None
    with Counter(engine) as show:
        shown = tips.show_in(session, user_id=user.id, timezone="UTC")
    with Counter(engine) as react:
        tips.react_in(
            session, user_id=user.id, reaction="helpful", key="k1", tip_ref=shown.ref, timezone="UTC"
        )
    with Counter(engine) as flush:
        assert learner_hot.flush() == 1
    assert auth.n == 0, auth.statements
    assert show.n <= SHOW_BUDGET, show.statements
    assert react.n <= REACT_BUDGET, react.statements
    assert flush.n <= FLUSH_BUDGET_ONE_USER, flush.statements


def test_a_reload_of_the_tip_on_screen_costs_two_statements(session):
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    first = asyncio.run(tips.show(user_id=user.id, timezone="UTC", again=True))
    with Counter(db.get_engine()) as reload:
        again = asyncio.run(tips.show(user_id=user.id, timezone="UTC", again=True))
    assert again.tip.tip_id == first.tip.tip_id
    assert reload.n <= RELOAD_BUDGET, reload.statements


# settling held reactions (`undo._settle`, the settling task's batch): what is still held, the
# kind model's batch (none drawn here: advice is not seeded), the model versions of all the batch's
# users — a fixed count, whatever the batch's size
SETTLE_BUDGET = 2


def test_settling_a_batch_of_held_reactions_costs_the_same_statements_for_one_user_or_many(session):
    from oo.services.tips import undo

    def held(n: int) -> list[int]:
        ids = []
        for i in range(n):
            user = accounts.create_demo_user(session=session)
            sources.connect_demo(session=session, user_id=user.id)
            shown = tips.show_in(session, user_id=user.id, timezone="UTC")
            reacted = tips.react_in(
                session, user_id=user.id, reaction="helpful", key=f"h{i}", tip_ref=shown.ref, undoable=True
            )
            tips.show_in(session, user_id=user.id, timezone="UTC")  # models cached, as in a running server
            ids.append(reacted.feedback.feedback_id)
        return ids

    one, five = held(1), held(5)
    with Counter(db.get_engine()) as settle_one:
        assert undo._settle(session, one) == 1
    with Counter(db.get_engine()) as settle_five:
        assert undo._settle(session, five) == 5
    assert settle_one.n <= SETTLE_BUDGET, settle_one.statements
    assert settle_five.n == settle_one.n, settle_five.statements
