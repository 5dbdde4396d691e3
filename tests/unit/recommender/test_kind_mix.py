"""The kind learner scores each kind on the context placed in that kind's block of features."""

from __future__ import annotations

import numpy as np

from oo.recommender.kind_mix import KINDS, KindMixer, arm_features, context


def test_the_scores_are_the_model_s_scores_of_each_kind_s_features():
    """`KindMixer.scores` builds the two rows directly; they must be what `arm_features` spells out."""
    rng = np.random.default_rng(3)
    mixer = KindMixer(seed=1)
    for step in range(200):
        ctx = context(
            hour=int(rng.integers(24)),
            weekend=bool(rng.integers(2)),
            open_tasks=int(rng.integers(60)),
            advice_recent=bool(rng.integers(2)),
        )
        want = mixer.model.score([arm_features(kind, ctx) for kind in KINDS])
        assert list(mixer.scores(ctx).values()) == want
        choice = mixer.choose(ctx, rng)
        mixer.learn(choice.x, float(rng.normal()) if step % 3 else 1.0)
    assert mixer.model.n_updates == 200
