"""Sessions, sign-in flows, users and consents."""

from datetime import timedelta

from sqlmodel import select

from oo.crypto import sha256_hex
from oo.legal import DOCUMENTS
from oo.models import Consent, LoginFlow, UserSession, utcnow
from oo.services.accounts import sessions as accounts


def _user(session, email="ada@example.test", verified=True, seed=""):
    return accounts.sign_in_oidc(
        session=session,
        issuer="https://issuer.test",
        subject="sub-ada",
        email=email,
        name="Ada",
        email_verified=verified,
        admin_seed_email=seed,
    )


def test_session_round_trip_stores_only_hash(session):
    user = _user(session)
    token = accounts.create_session(session=session, user_id=user.id, days=30)
    row = session.exec(select(UserSession)).one()
    assert row.token_hash == sha256_hex(token) and token not in row.token_hash
    current = accounts.resolve_session(session=session, token=token, idle_days=7)
    assert current is not None and current.id == user.id and current.email == "ada@example.test"


def test_resolve_session_rejects_unknown_revoked_expired_idle(session):
    user = _user(session)
    token = accounts.create_session(session=session, user_id=user.id, days=30)
    assert accounts.resolve_session(session=session, token="nope", idle_days=7) is None
    assert accounts.resolve_session(session=session, token=None, idle_days=7) is None
    assert accounts.resolve_session(session=session, token="x" * 500, idle_days=7) is None
    row = session.exec(select(UserSession)).one()
    row.last_seen_at = utcnow() - timedelta(days=8)
    session.add(row)
    session.commit()
    assert accounts.resolve_session(session=session, token=token, idle_days=7) is None
    row.last_seen_at, row.expires_at = utcnow(), utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    assert accounts.resolve_session(session=session, token=token, idle_days=7) is None
    token2 = accounts.create_session(session=session, user_id=user.id, days=30)
    accounts.revoke_session(session=session, token=token2)
    assert accounts.resolve_session(session=session, token=token2, idle_days=7) is None


def test_deleted_user_session_is_dead(session):
    user = _user(session)
    token = accounts.create_session(session=session, user_id=user.id, days=30)
    user.deleted_at = utcnow()
    session.add(user)
    session.commit()
    assert accounts.resolve_session(session=session, token=token, idle_days=7) is None


def test_flow_is_single_use_and_bound_to_browser(session):
    binding = accounts.start_flow(
        session=session, provider="google", state="s1", nonce="n", code_verifier="v"
    )
    assert accounts.consume_flow(session=session, provider="google", state="s1", binding="other") is None
    # The failed attempt consumed it: a second try with the right binding is refused too.
    assert accounts.consume_flow(session=session, provider="google", state="s1", binding=binding) is None
    binding = accounts.start_flow(
        session=session, provider="google", state="s2", nonce="n", code_verifier="v"
    )
    flow = accounts.consume_flow(session=session, provider="google", state="s2", binding=binding)
    assert flow is not None and flow.nonce == "n"
    assert accounts.consume_flow(session=session, provider="google", state="s2", binding=binding) is None


def test_flow_refuses_other_provider_and_expired(session):
    binding = accounts.start_flow(session=session, provider="google", state="s3")
    assert accounts.consume_flow(session=session, provider="apple", state="s3", binding=binding) is None
    binding = accounts.start_flow(session=session, provider="google", state="s4")
    flow = session.exec(select(LoginFlow)).one()
    flow.expires_at = utcnow() - timedelta(seconds=1)
    session.add(flow)
    session.commit()
    assert accounts.consume_flow(session=session, provider="google", state="s4", binding=binding) is None


def test_flow_next_path_is_never_an_open_redirect(session):
    accounts.start_flow(session=session, provider="google", state="s5", next_path="https://evil.example/")
    assert session.exec(select(LoginFlow)).one().next_path == "/tip"


def test_sign_in_keys_by_issuer_and_subject_and_records_consent(session):
    first = _user(session)
    again = _user(session, email="ada@new.example")
    assert first.id == again.id and again.email == "ada@new.example"
    consents = {(c.document, c.version) for c in session.exec(select(Consent))}
    assert consents == set(DOCUMENTS.items())


def test_admin_seed_needs_verified_email(session):
    assert _user(session, verified=False, seed="ada@example.test").role == "user"
    assert _user(session, verified=True, seed="ADA@example.test").role == "admin"


def test_demo_user_is_demo_with_consent(session):
    user = accounts.create_demo_user(session=session)
    assert user.is_demo and user.email is None
    assert len(session.exec(select(Consent).where(Consent.user_id == user.id)).all()) == 2


def test_a_session_in_use_is_touched_at_most_once_a_minute(session):
    user = _user(session)
    token = accounts.create_session(session=session, user_id=user.id, days=30)
    row = session.exec(select(UserSession)).one()
    seen = utcnow() - timedelta(seconds=30)
    row.last_seen_at = seen
    session.add(row)
    session.commit()
    current = accounts.resolve_session(session=session, token=token, idle_days=7)
    assert (current.name, current.role, current.is_demo, current.timezone) == (
        "Ada",
        user.role,
        False,
        user.timezone,
    )
    session.expire_all()
    assert session.exec(select(UserSession)).one().last_seen_at == seen  # recent: no write
    row = session.exec(select(UserSession)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=3)
    session.add(row)
    session.commit()
    assert accounts.resolve_session(session=session, token=token, idle_days=7) is not None
    session.expire_all()
    assert utcnow() - session.exec(select(UserSession)).one().last_seen_at < timedelta(seconds=5)
