"""What advice adds to each /tip request's SQL, counted (the task-only budget is tests/unit/services/tips)."""

from __future__ import annotations

from sqlmodel import Session, SQLModel

from oo import db, settings
from oo.services.accounts import sessions as accounts
from oo.services.advice import library
from oo.services.learning import hot as learner_hot
from oo.services.learning import policies
from oo.services.sources import catalog as sources
from oo.services.tips import recommend as recommend_module
from oo.services.tips import serving as tips
from tests.unit.services.tips.test_sql_budget import REACT_BUDGET, SHOW_BUDGET, Counter

# show: the user's recent advice tips (repetition rules and "advice lately"). The Advice switch and
# the kind model's version come with the task models' versions (one read of the user's row joined
# with their model_state rows); the library itself is cached in process.
ADVICE_SHOW = 1
# react: the tip's kind features consumed (the tip itself was read with the reaction), the kind
# model's row read and written (its own transaction, exactly once; the new model stays cached under
# its new version), the task models' versions read again after that commit; then a show.
ADVICE_REACT = 4 + ADVICE_SHOW


def test_advice_adds_a_bounded_number_of_statements(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(recommend_module, "BUDGET_SECONDS", 5.0)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    policies.invalidate()
    SQLModel.metadata.create_all(db.get_engine())
    with Session(db.get_engine(), expire_on_commit=False) as session:
        library.seed(session=session)
        user = accounts.create_demo_user(session=session)
        sources.connect_demo(session=session, user_id=user.id)
        shown = tips.show_in(session, user_id=user.id, timezone="UTC")  # warm: registry, models, library
        tips.react_in(
            session, user_id=user.id, reaction="helpful", key="warm", tip_ref=shown.ref, timezone="UTC"
        )
        learner_hot.flush()
        engine = db.get_engine()
        for i in range(6):  # both kinds come up: every request stays within the budget
            with Counter(engine) as show:
                shown = tips.show_in(session, user_id=user.id, timezone="UTC")
            with Counter(engine) as react:
                tips.react_in(
                    session,
                    user_id=user.id,
                    reaction="helpful",
                    key=f"k{i}",
                    tip_ref=shown.ref,
                    timezone="UTC",
                )
            assert show.n <= SHOW_BUDGET + ADVICE_SHOW, show.statements
            assert react.n <= REACT_BUDGET + ADVICE_REACT, react.statements
    db.get_engine.cache_clear()
