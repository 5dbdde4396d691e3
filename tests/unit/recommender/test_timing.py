"""The push timing model: exact clipped Thompson probabilities, learning per context, rewards, state."""

from __future__ import annotations

import json
import random

import pytest

from oo.recommender import timing


def ctx(hour: float, **kw) -> timing.TimingContext:
    base = {
        "hour": hour,
        "weekday": 2,
        "calendar_known": True,
        "minutes_to_busy": None,
        "minutes_since_push": None,
        "minutes_since_visit": None,
        "minutes_since_reaction": None,
        "pushes_today": 0,
        "daily_cap": 3,
    }
    return timing.TimingContext(**{**base, **kw})


def test_the_logged_probability_is_the_sampling_probability():
    model = timing.TimingModel.new()
    x = ctx(10).features()
    p = model.send_probability(x)
    rng = random.Random(3)
    sends = sum(model.decide(x, rng.random())[0] for _ in range(20_000))
    assert sends / 20_000 == pytest.approx(p, abs=0.01)


def test_probabilities_are_clipped_both_ways():
    model = timing.TimingModel.new()
    for _ in range(300):
        model.learn(ctx(10).features(), 1.0)
        model.learn(ctx(20).features(), -1.0)
    assert model.send_probability(ctx(10).features()) == timing.P_MAX
    assert model.send_probability(ctx(20).features()) == timing.P_MIN


def test_it_learns_which_hours_pay_off_for_this_user():
    model = timing.TimingModel.new()
    rng = random.Random(0)
    for _ in range(60):
        model.learn(ctx(9 + rng.random()).features(), 1.0)  # mornings: done
        model.learn(ctx(19 + rng.random()).features(), -0.1)  # evenings: ignored
    assert model.send_probability(ctx(9.5).features()) > model.send_probability(ctx(19.5).features())


def test_busy_soon_and_pushes_today_are_features():
    free, soon = ctx(10).features(), ctx(10, minutes_to_busy=15).features()
    names = dict(zip(timing.FEATURES, soon, strict=True))
    assert (
        names["busy_soon"] == pytest.approx(0.875)
        and dict(zip(timing.FEATURES, free, strict=True))["busy_soon"] == 0
    )
    assert dict(zip(timing.FEATURES, ctx(10, pushes_today=3).features(), strict=True))["pushes_today"] == 1.0


def test_rewards_follow_the_tip_scale_with_a_burden():
    assert timing.reward(reaction="dismiss", opened=True, recent_pushes=0) == -1.0
    assert timing.reward(reaction="done", opened=False, recent_pushes=2) == pytest.approx(0.9)
    assert timing.reward(reaction=None, opened=False, recent_pushes=1) == pytest.approx(-0.15)


def test_state_round_trips_and_bad_state_falls_back_to_the_prior():
    model = timing.TimingModel.new()
    model.learn(ctx(8).features(), 0.5)
    again = timing.TimingModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.send_probability(ctx(8).features()) == pytest.approx(
        model.send_probability(ctx(8).features())
    )
    assert timing.TimingModel.from_dict({"key": timing.KEY, "a": [[1.0]], "b": [1.0]}).updates == 0
