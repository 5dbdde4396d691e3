"""Drift monitor (issue 10): rolling reward per policy and the shift of the served features.

Two signals, each with a visible warning on the Experiments page beyond a threshold:

- **reward drift**: per serving policy, the mean reward of the last `RECENT` against the
  `BASELINE` before it; a warning when it dropped by more than `REWARD_DROP` (both sides need
  `MIN_REWARDS` rewards), plus a daily series for the chart;
- **feature shift**: per `improved@1` feature of the served tips, the standardised mean
  difference (recent mean - baseline mean) / baseline std; a warning when any |SMD| exceeds
  `SMD_WARN` (each side reads at most `SAMPLE` tips, the newest).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from oo.models import TipView, utcnow
from oo.recommender import REWARDS, get_encoder

RECENT = timedelta(days=1)
BASELINE = timedelta(days=7)
REWARD_DROP = 0.2
MIN_REWARDS = 30
SMD_WARN = 0.5
SAMPLE = 5000
ENCODER = "improved@1"


def _rewards(session: Session, since: datetime) -> list[tuple[str, datetime, float]]:
    rows = session.exec(
        select(TipView.policy, TipView.policy_version, TipView.served_at, TipView.reaction).where(
            col(TipView.served_at) >= since, col(TipView.reaction).in_(list(REWARDS))
        )
    ).all()
    return [(f"{p}@{v}", at, REWARDS[r]) for p, v, at, r in rows if r is not None]


def reward_drift(*, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Per policy: recent vs baseline mean reward, a daily series, and warnings."""
    now = now or utcnow()
    cut = now - RECENT
    rows = _rewards(session, cut - BASELINE)
    by_policy: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"recent": [], "baseline": []})
    daily: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, at, reward in rows:
        by_policy[key]["recent" if at >= cut else "baseline"].append(reward)
        daily[(key, at.strftime("%Y-%m-%d"))].append(reward)
    table, warnings = [], []
    for key, parts in sorted(by_policy.items()):
        recent, base = parts["recent"], parts["baseline"]
        r_mean = float(np.mean(recent)) if recent else None
        b_mean = float(np.mean(base)) if base else None
        table.append(
            {
                "policy": key,
                "recent": len(recent),
                "recent_mean": r_mean,
                "baseline": len(base),
                "baseline_mean": b_mean,
            }
        )
        enough = len(recent) >= MIN_REWARDS and len(base) >= MIN_REWARDS
        if enough and b_mean is not None and r_mean is not None and b_mean - r_mean > REWARD_DROP:
            warnings.append(f"{key}: mean reward fell from {b_mean:+.2f} to {r_mean:+.2f} in the last 24 h")
    series = [
        {"policy": k, "day": d, "mean": float(np.mean(v)), "rewards": len(v)}
        for (k, d), v in sorted(daily.items())
    ]
    return {"policies": table, "series": series, "warnings": warnings}


def _features(session: Session, start: datetime, end: datetime) -> np.ndarray:
    names = get_encoder(ENCODER).feature_names
    texts = session.exec(
        select(TipView.features)
        .where(col(TipView.served_at) >= start, col(TipView.served_at) < end)
        .order_by(col(TipView.served_at).desc())
        .limit(SAMPLE)
    ).all()
    out = []
    for text in texts:
        try:
            x = json.loads(text or "{}").get(ENCODER)
            if isinstance(x, dict):
                out.append([float(x.get(n, 0.0)) for n in names])
        except (ValueError, TypeError, AttributeError):
            continue
    return np.array(out).reshape(-1, len(names))


def feature_shift(*, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Standardised mean difference of each served feature, recent vs baseline, and warnings."""
    now = now or utcnow()
    cut = now - RECENT
    recent, base = _features(session, cut, now), _features(session, cut - BASELINE, cut)
    names = get_encoder(ENCODER).feature_names
    if len(recent) < MIN_REWARDS or len(base) < MIN_REWARDS:
        return {"features": [], "warnings": [], "recent": len(recent), "baseline": len(base)}
    std = base.std(axis=0)
    smd = (recent.mean(axis=0) - base.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)
    rows: list[dict[str, Any]] = sorted(
        (
            {"feature": n, "recent_mean": float(r), "baseline_mean": float(b), "smd": float(s)}
            for n, r, b, s in zip(names, recent.mean(axis=0), base.mean(axis=0), smd, strict=True)
        ),
        key=lambda row: -abs(row["smd"]),
    )
    warnings = [
        f"feature {r['feature']} shifted by {r['smd']:+.2f} std" for r in rows if abs(r["smd"]) > SMD_WARN
    ]
    return {"features": rows, "warnings": warnings, "recent": len(recent), "baseline": len(base)}


def drift(*, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Both monitors and their warnings together."""
    reward, shift = reward_drift(session=session, now=now), feature_shift(session=session, now=now)
    return {"reward": reward, "features": shift, "warnings": reward["warnings"] + shift["warnings"]}
