"""Account deletion (U6): revoke provider tokens, purge everything, keep a tombstone, sign out.

Order matters: tokens are revoked at the providers first (while we can still decrypt them), then
every row that belongs to the user goes in one transaction, and the user row becomes a tombstone
(id and deleted_at; no e-mail, name, identity or time zone). Google sign-in keeps no token of
ours (the ID token is used once at sign-in), so there is nothing to revoke at Google. In-process
caches (the learner's models) are dropped too. Shared policy parameters are not trained from a
user's rewards — models are per user — so nothing global has to be retrained.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field

from sqlalchemy import or_, text
from sqlmodel import Session, col, delete, select, update

from oo.db import session_scope
from oo.models import (
    ActiveDay,
    AdminAction,
    ApiToken,
    Consent,
    EventRecord,
    Integration,
    LoginFlow,
    ModelState,
    PushDecision,
    PushSubscription,
    SavedQuery,
    SourceAction,
    Task,
    TipFeedback,
    TipScore,
    TipView,
    User,
    UserSession,
    WebhookDelivery,
    table,
    utcnow,
)
from oo.services.accounts import session_cache
from oo.services.learning import learner
from oo.services.push import calendar
from oo.services.push import subscriptions as push_subscriptions
from oo.services.sources import catalog as sources
from oo.services.tips import reshow

log = logging.getLogger("oo.deletion")
MIN_TERM = 3  # shorter names ("Al") would erase unrelated text; the e-mail still goes

# Child tables first: every row here is keyed by the user and deleted outright.
USER_TABLES = (
    ActiveDay,
    TipFeedback,
    TipScore,
    TipView,
    ModelState,
    SourceAction,
    Task,
    Integration,
    PushSubscription,
    PushDecision,
    EventRecord,
    WebhookDelivery,
    ApiToken,
    LoginFlow,
    UserSession,
    Consent,
)


@dataclass
class DeletionReport:
    """What deletion did (for logs and tests; contains no personal data)."""

    user_id: int
    revoked: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


async def delete_account(*, user_id: int) -> DeletionReport:
    """Delete the user's account for good. Idempotent: a second call finds nothing left."""
    report = DeletionReport(user_id)
    with session_scope() as session:
        providers = session.exec(select(Integration.provider).where(Integration.user_id == user_id)).all()
    for provider in providers:
        try:
            if provider == calendar.PROVIDER:  # the Google grant is revoked at Google
                revoked = await calendar.disconnect(user_id=user_id)
                report.revoked[provider] = "done" if revoked else "not_revoked"
            else:
                report.revoked[provider] = (
                    await sources.disconnect_source(user_id=user_id, provider=provider)
                ).value
        except Exception:  # a provider outage must not keep the data: we delete our copy regardless
            log.exception("revoking %s failed during account deletion of user %s", provider, user_id)
            report.revoked[provider] = "failed"
    with session_scope() as session:
        report.rows = purge(session=session, user_id=user_id)
        if session.get_bind().dialect.name == "sqlite":
            # Deleted rows were overwritten in place (secure_delete); fold the WAL back so no old
            # copy of a page lingers in the -wal file either.
            session.exec(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # type: ignore[call-overload]
    log.info("account %s deleted: %s", user_id, report)
    return report


def _identifying(user: User) -> list[str]:
    """The strings that name this person in free text: e-mail (and its local part), name, subject."""
    terms = [user.email or "", user.name or "", user.oidc_subject or ""]
    if user.email and "@" in user.email:
        terms.append(user.email.split("@", 1)[0])
    return sorted({t.strip() for t in terms if len(t.strip()) >= MIN_TERM}, key=len, reverse=True)


def scrub_free_text(*, session: Session, user_id: int, terms: list[str]) -> int:
    """Replace ``terms`` in audit-log parameters and saved SQL with a pseudonym; returns rows changed.

    An admin's SQL text (``sql.run``), a saved query or any other audit parameter may name the
    person (``WHERE email = 'ann@example.com'``); after deletion it reads ``<erased user 42>``.
    Matching is case-insensitive, in plain and JSON-escaped form.
    """
    if not terms:
        return 0
    pseudonym = f"<erased user {user_id}>"
    forms = {f for t in terms for f in (t, json.dumps(t)[1:-1])}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.IGNORECASE)
    changed = 0
    for model, attr in ((AdminAction, "params"), (SavedQuery, "sql")):
        column = getattr(model, attr)
        like = or_(*(col(column).ilike(f"%{_like_escape(f)}%", escape="\\") for f in forms))
        for row in session.exec(select(model).where(like)).all():
            setattr(row, attr, pattern.sub(pseudonym, getattr(row, attr)))
            session.add(row)
            changed += 1
    return changed


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def purge(*, session: Session, user_id: int) -> dict[str, int]:
    """Delete every row of the user and turn the user row into a tombstone, in one transaction."""
    counts: dict[str, int] = {}
    learner.forget_user(user_id)
    push_subscriptions.forget_user(user_id)  # decrypted endpoints kept in memory
    reshow.forget(user_id)  # the tip last served, kept in memory for a reload
    for model in USER_TABLES:
        result = session.exec(delete(model).where(col(model.user_id) == user_id))
        counts[table(model).name] = int(result.rowcount or 0)
    # The audit log is append-only: entries about this user keep only the pseudonymous id.
    session.exec(update(AdminAction).where(col(AdminAction.target) == f"user:{user_id}").values(params="{}"))
    user = session.get(User, user_id)
    if user is not None:
        counts["scrubbed"] = scrub_free_text(session=session, user_id=user_id, terms=_identifying(user))
        user.email = user.name = user.oidc_issuer = user.oidc_subject = user.quiet_hours = None
        user.timezone, user.role, user.is_demo = "UTC", "user", False
        user.deleted_at = user.deleted_at or utcnow()
        session.add(user)
    session.commit()
    session_cache.forget_user(user_id)  # its sessions are gone: no worker may trust a cached one
    return counts
