"""Off-policy evaluation of every shadow policy on the logged tips of a window (A8, issue 10).

A logged tip is a served ``tip_view`` with a logged propensity and a reward (its first
reaction's reward, the one the learner absorbed; see docs/recommender.md for what counts). For
each shadow policy the tips it was scored on give (through ``tip_score.served_probability``)
its probability of choosing the served task, and its own pick's features. `oo.recommender.ope`
turns those into IPS, SNIPS and DR estimates of the shadow's mean reward per tip, each with a
95 % interval from a bootstrap that resamples users; beside them, the observed mean reward of
the tips as served (the active policy's value) with the same kind of interval.

DR's reward model is a ridge regression of the reward on the served task's features, one per
encoder (a shadow's pick is logged in its own encoder), cross-fitted over two folds of users.

Promotion gate: a shadow may be promoted when its DR lower bound beats the observed mean of
the serving policy; otherwise only with an explicit reason (`promotion_check`).

Bounds: the newest `MAX_TIPS` rewarded tips of the window are read; the Experiments page reuses
an evaluation for `CACHE_SECONDS` (`cached_evaluation`); the admin route and the promotion gate
compute afresh.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col

from oo import singletons
from oo.models import TipScore, TipView
from oo.recommender import ENCODERS, REWARDS, get_encoder, ope
from oo.recommender.registry import get_spec
from oo.services.admin.inputs import parse_window, since_days

N_BOOT = 400
MIN_TIPS = 30  # below this an estimate is shown as "not enough data"
MAX_TIPS = 20_000  # the newest rewarded tips of the window (bounds the page's work)
CACHE_SECONDS = 300.0  # the Experiments page reuses an evaluation this long

_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


@dataclass
class _Logged:
    """The logged tips of a window as arrays (one row per tip) plus their features per encoder."""

    ids: list[str]
    users: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    served_by: list[str]
    features: dict[str, np.ndarray]  # encoder -> (n, d); rows without that encoding are NaN


def _vector(x: dict[str, float] | None, names: tuple[str, ...]) -> np.ndarray:
    if not isinstance(x, dict):
        return np.full(len(names), np.nan)
    try:
        return np.array([float(x.get(n, 0.0)) for n in names])
    except (TypeError, ValueError):
        return np.full(len(names), np.nan)


def load_logged(session: Session, days: int, max_tips: int | None = None) -> _Logged:
    """Read the window's newest `max_tips` (default `MAX_TIPS`) rewarded tips with a propensity."""
    columns: list[Any] = [
        TipView.id,
        TipView.user_id,
        TipView.reaction,
        TipView.propensity,
        TipView.features,
        TipView.policy,
        TipView.policy_version,
    ]
    rows = session.execute(
        sa.select(*columns)
        .where(
            col(TipView.served_at) >= since_days(days),
            col(TipView.propensity).is_not(None),
            col(TipView.reaction).in_(list(REWARDS)),
        )
        .order_by(col(TipView.served_at).desc())
        .limit(max_tips or MAX_TIPS)
    ).all()
    encoders: dict[str, list[np.ndarray]] = defaultdict(list)
    parsed = []
    for row in rows:
        try:
            parsed.append(json.loads(row[4] or "{}"))
        except ValueError:
            parsed.append({})
    keys = sorted({k for p in parsed if isinstance(p, dict) for k in p if k in _known_encoders()})
    for key in keys:
        names = get_encoder(key).feature_names
        encoders[key] = [_vector(p.get(key) if isinstance(p, dict) else None, names) for p in parsed]
    return _Logged(
        ids=[r[0] for r in rows],
        users=np.array([r[1] for r in rows], dtype=np.int64),
        reward=np.array([REWARDS[r[2]] for r in rows], dtype=np.float64),
        pscore=np.array([r[3] for r in rows], dtype=np.float64),
        served_by=[f"{r[5]}@{r[6]}" for r in rows],
        features={k: np.array(v).reshape(len(rows), -1) for k, v in encoders.items()},
    )


def _known_encoders() -> set[str]:
    return set(ENCODERS)


_SCORE_COLUMNS: list[Any] = [
    TipScore.tip_id,
    TipScore.policy,
    TipScore.policy_version,
    TipScore.served_probability,
    TipScore.features,
]


def _shadow_rows(session: Session, logged: _Logged) -> dict[str, list[tuple[int, float, str]]]:
    """Per shadow policy: (tip row index, probability of the served task, its pick's features JSON)."""
    where = {tip_id: i for i, tip_id in enumerate(logged.ids)}
    out: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    ids = list(where)
    for start in range(0, len(ids), 5000):  # bounded IN lists
        for tip_id, name, version, prob, feats in session.execute(
            sa.select(*_SCORE_COLUMNS).where(
                col(TipScore.tip_id).in_(ids[start : start + 5000]),
                col(TipScore.role) == "shadow",
                col(TipScore.served_probability).is_not(None),
            )
        ).all():
            out[f"{name}@{version}"].append((where[str(tip_id)], float(str(prob)), str(feats)))
    return out


def _encoder_of(key: str) -> str:
    name, _, version = key.partition("@")
    try:
        return str(get_spec(name, int(version)).params.get("encoder") or "textbook@1")
    except (KeyError, ValueError):
        return "textbook@1"


def _estimate_shadow(
    logged: _Logged, key: str, rows: list[tuple[int, float, str]], seed: int
) -> dict[str, Any]:
    idx = np.array([r[0] for r in rows], dtype=np.int64)
    target = np.clip(np.array([r[1] for r in rows]), 0.0, 1.0)
    out: dict[str, Any] = {
        "policy": key,
        "tips": int(idx.size),
        "users": int(np.unique(logged.users[idx]).size),
        "agreement": float((target > 0).mean()) if idx.size else 0.0,
    }
    if idx.size < MIN_TIPS:
        return out | {"note": f"fewer than {MIN_TIPS} logged tips"}
    enc = _encoder_of(key)
    X = logged.features.get(enc)
    users, reward, pscore = logged.users[idx], logged.reward[idx], logged.pscore[idx]
    if X is None or not np.isfinite(X[idx]).all():
        q_served = q_target = np.zeros(idx.size)  # no usable encoding: DR degrades to IPS-like
        out["note"] = f"no {enc} features logged: DR uses q = 0"
    else:
        names = get_encoder(enc).feature_names
        W = ope.fit_reward_model(X[idx], reward, users)
        picks = np.array([_vector(_loads(r[2]), names) for r in rows])
        picks = np.where(np.isfinite(picks), picks, X[idx])
        q_served, q_target = ope.predict(W, X[idx], users), ope.predict(W, picks, users)
    est = ope.evaluate(
        users=users,
        reward=reward,
        pscore=pscore,
        target=target,
        q_served=q_served,
        q_target=q_target,
        n_boot=N_BOOT,
        seed=seed,
    )
    return out | {k: e.as_dict() for k, e in est.items()}


def _loads(text: str) -> dict[str, float] | None:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def evaluate_shadows(*, session: Session, window: Any = "7d", seed: int = 0) -> dict[str, Any]:
    """IPS / SNIPS / DR per shadow policy beside the observed mean of the tips as served.

    Raises:
        AdminInputError: For an unknown window.
    """
    days = parse_window(window)
    logged = load_logged(session, days)
    result: dict[str, Any] = {
        "window": window,
        "tips": len(logged.ids),
        "users": int(np.unique(logged.users).size),
        "served_by": sorted(set(logged.served_by)),
        "active": None,
        "shadows": [],
    }
    if len(logged.ids) >= 1:
        result["active"] = ope.observed(logged.users, logged.reward, n_boot=N_BOOT, seed=seed).as_dict()
    for key, rows in sorted(_shadow_rows(session, logged).items()):
        result["shadows"].append(_estimate_shadow(logged, key, rows, seed))
    return result


def cached_evaluation(*, session: Session, window: Any = "7d") -> dict[str, Any]:
    """`evaluate_shadows`, reused for `CACHE_SECONDS` per database and window (the console page)."""
    days = parse_window(window)
    key = (str(session.get_bind().engine.url), str(days))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    result = evaluate_shadows(session=session, window=window)
    with _cache_lock:
        _cache[key] = (now, result)
    return result


def _forget() -> None:
    with _cache_lock:
        _cache.clear()


singletons.on_reset("admin.offpolicy", _forget)


def promotion_check(*, session: Session, key: str, window: Any = "7d") -> tuple[bool, str]:
    """Whether `key`'s DR lower bound beats the observed mean of the served tips, and why.

    Returns:
        (allowed, explanation).
    """
    data = evaluate_shadows(session=session, window=window)
    row = next((s for s in data["shadows"] if s["policy"] == key), None)
    active = data["active"]
    if row is None or "dr" not in row or active is None:
        return False, f"no off-policy estimate for {key} in the last {window} (needs {MIN_TIPS}+ logged tips)"
    low, mean = row["dr"]["low"], active["value"]
    if low is not None and mean is not None and low > mean:
        return True, f"DR lower bound {low:+.3f} beats the observed mean {mean:+.3f}"
    if low is None or mean is None:
        return False, f"the DR interval of {key} is undefined"
    return False, f"DR lower bound {low:+.3f} does not beat the observed mean {mean:+.3f}"
