"""Shadow policies scored after serving (/tip): the same rows as inline, on the model of serve time."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import select

from oo.models import TipScore, TipView
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner
from oo.services.sources import catalog as sources
from oo.services.tips import serving as tips
from oo.services.tips import shadows
from oo.services.tips.recommend import recommend


@pytest.fixture
def session(app_session):
    return app_session


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def rows_of(session, tip_id: str) -> dict[str, TipScore]:
    session.expire_all()
    rows = session.exec(select(TipScore).where(TipScore.tip_id == tip_id)).all()
    return {f"{r.policy}@{r.policy_version}": r for r in rows}


def test_deferred_shadows_log_what_inline_scoring_logs_on_the_model_of_serve_time(session, user_id):
    inline = recommend(session=session, user_id=user_id)
    expected = {k: r.role for k, r in rows_of(session, inline.tip_id).items()}

    later: list = []
    shown = tips.show_in(session, user_id=user_id, later=later)
    tip_id = shown.tip.tip_id
    served = rows_of(session, tip_id)
    assert {k: r.role for k, r in served.items()} == {"linucb@5": "active"}  # shadows not in the request
    assert served["linucb@5"].served_probability == pytest.approx(shown.tip.propensity)
    [job] = later
    then = {
        d.outcome.ref.key: d.policy.choose_with_distribution(d.X)[1][job.served] for d in job.pick.deferred
    }

    # The user's models learn a reaction before the shadows are scored: they must not see it.
    xs = json.loads(session.get(TipView, tip_id).features)
    assert learner_hot.learn_now(session=session, user_id=user_id, feedback_id=10**9, reward=1.0, xs=xs) > 0
    assert shadows.run(later) == len(expected) - 1

    logged = rows_of(session, tip_id)
    assert {k: r.role for k, r in logged.items()} == expected  # the same policies and roles as inline
    for key, p in then.items():
        assert logged[key].served_probability == pytest.approx(p * job.kind_p), key
        assert logged[key].candidates == served["linucb@5"].candidates and json.loads(logged[key].features)
    taught = learner.get_models(
        session=session, user_id=user_id, refs=[d.outcome.ref for d in job.pick.deferred]
    )
    assert any(  # the reaction changed a shadow's distribution, so the check above can tell
        abs(
            float(
                taught[d.outcome.ref.key].choose_with_distribution(d.X)[1][job.served]
                - then[d.outcome.ref.key]
            )
        )
        > 1e-6
        for d in job.pick.deferred
    )


def test_the_tip_path_writes_every_shadow_row_after_answering(session, user_id):
    async def serve() -> str:
        shown = await tips.show(user_id=user_id, timezone="UTC")
        assert shadows.drain()
        return shown.tip.tip_id

    tip_id = asyncio.run(serve())
    assert set(rows_of(session, tip_id)) == {s.key for s in POLICY_SPECS}


def test_on_the_loop_shadows_are_written_on_its_thread_after_the_linger_and_at_drain(session, user_id):
    import threading

    seen: list[str] = []
    real_run = shadows.run

    def run(jobs):
        seen.append(threading.current_thread().name)
        return real_run(jobs)

    async def engine_like() -> tuple[int, int, int]:
        shadows.write_on_loop()
        first: list = []
        tips.show_in(session, user_id=user_id, later=first)
        shadows.start(first)
        before = len(rows_of(session, first[0].tip_id))
        await asyncio.sleep(shadows.LINGER * 3)
        after = len(rows_of(session, first[0].tip_id))
        second: list = []
        tips.show_in(session, user_id=user_id, later=second)
        shadows.start(second)
        assert shadows.drain(1.0)  # written now, without waiting for the linger
        return before, after, len(rows_of(session, second[0].tip_id))

    try:
        shadows.run = run
        before, after, drained = asyncio.run(engine_like())
    finally:
        shadows.run = real_run
        shadows._writer = shadows._Writer()
    assert before == 1 and after > 1  # the active row in the request; the shadows' after the linger
    assert drained == after  # the same policies, written by the drain
    assert seen == ["MainThread", "MainThread"]
