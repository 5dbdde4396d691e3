"""Yours to see and take (U9): everything oO holds about a person, and what it has learned.

`export` is the GDPR Art. 15 (access) and Art. 20 (portability) answer: one JSON document with
the profile, consents, sources (never their tokens or sync cursors), cached tasks, every tip with
its explanation and reactions, push subscriptions (only the push service's host: the endpoint
URL and its keys are capabilities), sessions and API tokens (never their hashes), queued source
actions, events, scoring logs, push timing decisions (send or not, with their context), the days
counted as active in the console, and each stored model's weights by feature name. `learned` turns
the active model's weights into a few plain words. The caller passes the user id it derived from
the server-side session; nothing here takes an id from a client.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from oo.models import (
    ActiveDay,
    ApiToken,
    Consent,
    EventRecord,
    Integration,
    ModelState,
    PushDecision,
    PushSubscription,
    SourceAction,
    Task,
    TipFeedback,
    TipScore,
    TipView,
    User,
    UserSession,
    utcnow,
)
from oo.recommender.store import StoreError, loads
from oo.services.learning.policies import serving_set
from oo.services.platform.keyring import keyring

log = logging.getLogger("oo.your_data")
FORMAT = "oo.your-data"
FORMAT_VERSION = 1
PUSH_DECISION_FIELDS = (
    "decided_at",
    "policy",
    "send",
    "probability",
    "reason",
    "local_hour",
    "tip_id",
    "delivered",
    "opened_at",
    "reaction",
    "reacted_via",
    "reacted_at",
    "reward",
)
TOP = 3  # features named in "what oO has learned"
# Task features in a person's words (p1 is Todoist's highest priority, the API's 4). Clock and
# interaction terms shift every task alike at a given moment, so they say nothing about taste.
WORDS = {
    "overdue": "overdue tasks",
    "is_overdue": "overdue tasks",
    "due_soon": "tasks due soon",
    "has_due": "tasks with a due date",
    "prio_4": "priority 1 tasks",
    "prio_3": "priority 2 tasks",
    "prio_2": "priority 3 tasks",
    "priority": "higher-priority tasks",
    "age_log": "older tasks",
    "task_age_days": "older tasks",
}
NOTICEABLE = 0.05  # weights smaller than this say nothing in plain words


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return text


def model_weights(data: bytes) -> dict[str, Any]:
    """A stored model in readable form: policy, updates and the weight of each feature.

    The weight is the posterior mean of the feature's coefficient (what one unit of the feature
    adds to the expected reward); policies without per-feature weights report none.

    Examples:
        >>> from oo.recommender.registry import build_policy
        >>> from oo.recommender.store import dumps
        >>> p = build_policy("linucb", 1, seed=0)
        >>> p.learn({"is_overdue": 1.0}, reward=1.0)
        >>> w = model_weights(dumps(p))
        >>> w["policy"], w["updates"], w["weights"]["is_overdue"] > 0
        ('linucb@1', 1, True)
    """
    policy = loads(data)
    features = getattr(policy, "features", None)
    weights: dict[str, float] = {}
    explain = getattr(policy, "explain", None)
    if features and callable(explain):
        try:
            contributions = explain(dict.fromkeys(features, 1.0)).get("contributions", {})
        except (TypeError, ValueError):  # a policy whose explain takes other input: no weights
            contributions = {}
        weights = {f: round(float(contributions.get(f, 0.0)), 6) for f in features}
    return {"policy": policy.key, "updates": getattr(policy, "n_updates", None), "weights": weights}


def _profile(user: User) -> dict[str, Any]:
    fields = ("id", "name", "email", "role", "is_demo", "timezone", "quiet_hours", "created_at")
    return {**_row(user, fields), "signed_in_with": user.oidc_issuer or ("demo" if user.is_demo else None)}


def _push_service(row: PushSubscription) -> dict[str, Any]:
    try:
        host = urlsplit(json.loads(keyring().decrypt(row.data)).get("endpoint", "")).hostname
    except Exception:  # a lost key: the row is still listed, without its host
        host = None
    return {**_row(row, ("id", "created_at", "last_success_at", "failures")), "push_service": host}


def _tips(session: Session, user_id: int) -> list[dict[str, Any]]:
    reactions: dict[str, list[dict[str, Any]]] = {}
    for fb in session.exec(
        select(TipFeedback).where(TipFeedback.user_id == user_id).order_by(col(TipFeedback.id))
    ):
        reactions.setdefault(fb.tip_id, []).append(
            _row(fb, ("reaction", "reward", "origin", "created_at", "applied_at"))
        )
    fields = ("id", "task_id", "source", "kind", "channel", "policy", "policy_version", "score", "served_at")
    return [
        {
            **_row(tip, fields),
            "features": _json(tip.features),
            "explanation": _json(tip.explanation),
            "reactions": reactions.get(tip.id, []),
        }
        for tip in session.exec(
            select(TipView).where(TipView.user_id == user_id).order_by(col(TipView.served_at))
        )
    ]


def _models(session: Session, user_id: int) -> list[dict[str, Any]]:
    out = []
    for row in session.exec(select(ModelState).where(ModelState.user_id == user_id)):
        try:
            readable = model_weights(row.data)
        except StoreError:
            readable = {"policy": row.policy_key, "updates": row.updates, "weights": {}, "unreadable": True}
        out.append({**readable, "updated_at": _plain(row.updated_at)})
    return sorted(out, key=lambda m: m["policy"])


def _push_decisions(session: Session, user_id: int) -> list[dict[str, Any]]:
    """Each push timing decision (send or not) with its context, oldest first."""
    query = select(PushDecision).where(PushDecision.user_id == user_id).order_by(col(PushDecision.id))
    return [{**_row(d, PUSH_DECISION_FIELDS), "context": _json(d.context)} for d in session.exec(query)]


def export(*, session: Session, user_id: int) -> dict[str, Any]:
    """Everything oO holds about the user, as one JSON-able document (no secret in it).

    Raises:
        LookupError: When the user does not exist (or was deleted).
    """
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise LookupError("no such user")

    def rows(model: Any, fields: tuple[str, ...], order: Any) -> list[dict[str, Any]]:
        query = select(model).where(model.user_id == user_id).order_by(order)
        return [_row(r, fields) for r in session.exec(query)]

    task_fields = tuple(f for f in Task.model_fields if f != "user_id")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        "profile": _profile(user),
        "consents": rows(Consent, ("document", "version", "accepted_at"), col(Consent.id)),
        "sources": rows(
            Integration,
            ("provider", "status", "scopes", "external_user_id", "last_sync_at", "last_error", "created_at"),
            col(Integration.id),
        ),
        "tasks": rows(Task, task_fields, col(Task.id)),
        "tips": _tips(session, user_id),
        "push_subscriptions": [
            _push_service(r)
            for r in session.exec(select(PushSubscription).where(PushSubscription.user_id == user_id))
        ],
        "sessions": rows(
            UserSession, ("created_at", "last_seen_at", "expires_at", "revoked_at"), col(UserSession.id)
        ),
        "api_tokens": rows(ApiToken, ("name", "created_at", "last_used_at", "revoked_at"), col(ApiToken.id)),
        "source_actions": rows(
            SourceAction, ("source", "external_id", "action", "status", "created_at"), col(SourceAction.id)
        ),
        "events": [
            {**_row(e, ("subject", "occurred_at")), "data": _json(e.data)}
            for e in session.exec(
                select(EventRecord)
                .where(EventRecord.user_id == user_id)
                .order_by(col(EventRecord.occurred_at))
            )
        ],
        "scoring_log": [
            {
                **_row(s, ("tip_id", "policy", "policy_version", "role", "task_id", "score", "created_at")),
                "features": _json(s.features),
            }
            for s in session.exec(
                select(TipScore).where(TipScore.user_id == user_id).order_by(col(TipScore.id))
            )
        ],
        "push_decisions": _push_decisions(session, user_id),
        "active_days": rows(ActiveDay, ("day", "last_at"), col(ActiveDay.day)),
        "models": _models(session, user_id),
    }


@dataclass(frozen=True)
class Learned:
    """What oO has learned about a person, in plain words."""

    reactions: int  # how many reactions the active model has learned from
    likes: tuple[str, ...]  # features that raise a tip's chances, strongest first
    dislikes: tuple[str, ...]  # features that lower them

    @property
    def sentences(self) -> list[str]:
        """Two or three short sentences for the Connect page."""
        if self.reactions == 0:
            return ["Nothing yet: oO learns from your reactions to tips."]
        out = [f"Learned from {self.reactions} reaction{'s' if self.reactions != 1 else ''}."]
        if self.likes:
            out.append("You tend to act on " + _join(self.likes, "and") + ".")
        if self.dislikes:
            out.append("You tend to pass on " + _join(self.dislikes, "and") + ".")
        if not self.likes and not self.dislikes:
            out.append("No clear preference yet.")
        return out


def _join(words: tuple[str, ...], conjunction: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


def learned(*, session: Session, user_id: int) -> Learned:
    """The active policy's stored model for the user, as the features that weigh most now."""
    key = serving_set(session=session).active.key
    row = session.exec(
        select(ModelState).where(ModelState.user_id == user_id, ModelState.policy_key == key)
    ).first()
    if row is None:
        return Learned(0, (), ())
    try:
        readable = model_weights(row.data)
    except StoreError:
        log.error("model %s of user %s is unreadable", key, user_id)
        return Learned(0, (), ())
    named = [(WORDS[f], w) for f, w in readable["weights"].items() if f in WORDS and abs(w) >= NOTICEABLE]
    likes = tuple(dict.fromkeys(p for p, w in sorted(named, key=lambda t: -t[1]) if w > 0))[:TOP]
    dislikes = tuple(dict.fromkeys(p for p, w in sorted(named, key=lambda t: t[1]) if w < 0))[:TOP]
    return Learned(int(readable["updates"] or row.updates), likes, dislikes)
