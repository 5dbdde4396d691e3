"""The volume seeder fills every admin table realistically, and every page's data load runs on it."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from bench import admin_pages
from oo.db import make_engine
from oo.models import EventRecord, Integration, Policy, TipView, User
from scripts import seed_admin_volume


def test_seeded_volume_feeds_every_admin_page(tmp_path):
    url = f"sqlite:///{tmp_path / 'volume.db'}"
    engine = make_engine(url)
    counts = seed_admin_volume.seed(engine, users=200, events=5000, tips=1500)
    assert counts["user"] == 200 and counts["tip_view"] == 1500 and counts["event"] == 5000
    with Session(engine) as s:
        scoring = len(s.exec(select(Policy).where(col(Policy.status).in_(("active", "shadow")))).all())
    assert (
        scoring >= 2 and counts["tip_score"] == 1500 * scoring
    )  # the active policy and each shadow score every request
    assert 0.5 < counts["tip_feedback"] / counts["tip_view"] < 0.7
    with Session(engine) as s:
        tip = s.exec(select(TipView)).first()
        encoders = {json.loads(p.params).get("encoder", "textbook@1") for p in s.exec(select(Policy)).all()}
        assert (
            set(json.loads(tip.features)) == encoders >= {"textbook@1", "improved@1"}
        )  # one entry per encoder
        assert {e.subject for e in s.exec(select(EventRecord)).all()} >= {
            "signals.tip.served",
            "signals.task.synced",
        }
        assert all(
            i.credentials in (None, "v1.seed.placeholder-not-a-token") for i in s.exec(select(Integration))
        )
    # A second run adds to the same database without clashing ids.
    more = seed_admin_volume.seed(engine, users=20, events=100, tips=50)
    with Session(engine) as s:
        assert len(s.exec(select(User.id)).all()) == 220 and more["tip_view"] == 50
    engine.dispose()
    results = admin_pages.measure(url, runs=1)
    assert set(results) >= {
        "overview",
        "events",
        "experiments 7d",
        "rewards 30d",
        "quality",
        "health",
        "audit",
    }
    for name, (first, median, worst) in results.items():
        # Each page load really ran (a no-op would measure ~0 ms) and stayed within a generous
        # bound for 200 users; the 200 ms budget at 10k users is bench/admin_pages.py's job.
        assert 0.0 < median <= worst < 2000.0 and first > 0.0, (name, first, median, worst)
