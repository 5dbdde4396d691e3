"""Sign in with Apple through oO's routes against the loopback provider configured as Apple is.

The provider (tests/oidc_provider/server.mjs in Apple mode) answers with response_mode=form_post
(the browser POSTs code and state to /auth/apple/callback), accepts at its token endpoint only an
ES256 client-secret JWT signed by the key registered for the client (kid, team id as iss, client
id as sub, issuer as aud, at most six months), offers the scopes openid, email and name, and sends
email_verified as the strings "true" / "false" as Apple does.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.jose import JsonWebKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db, singletons
from oo.http.app import create_api
from oo.models import User, UserSession
from tests.support.oidc import OidcProvider, complete_login_form_post, expected_email, expected_sub

CLIENT_ID, TEAM_ID, KEY_ID = "test.oo.signin", "TEAM123456", "KEY7654321"
CALLBACK = "http://testserver/auth/apple/callback"


def p256_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


PEM = p256_pem()


@pytest.fixture(scope="module")
def idp():
    public = JsonWebKey.import_key(PEM, {"kty": "EC"}).as_dict(is_private=False)
    apple = {"jwk": public, "team_id": TEAM_ID, "key_id": KEY_ID}
    with OidcProvider(CLIENT_ID, "unused", [CALLBACK], apple=apple) as provider:
        yield provider


@pytest.fixture
def configure(idp, app_env, monkeypatch, make_tables):
    def apply(pem: str = PEM, key_id: str = KEY_ID, **extra: str) -> TestClient:
        monkeypatch.setenv("OO_APPLE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("OO_APPLE_DISCOVERY_URL", idp.discovery_url)
        monkeypatch.setenv("OO_APPLE_TEAM_ID", TEAM_ID)
        monkeypatch.setenv("OO_APPLE_KEY_ID", key_id)
        monkeypatch.setenv("OO_APPLE_PRIVATE_KEY", pem.replace("\n", "\\n"))  # one line, as in an env file
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        singletons.reset()
        make_tables()
        return TestClient(create_api(), base_url="http://testserver", follow_redirects=False)

    return apply


def users() -> list[User]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(User)))


def sign_in(client: TestClient, login: str, user_field: str | None = None):
    start = client.get("/auth/apple/start")
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["response_mode"] == ["form_post"] and query["scope"] == ["openid email name"]
    action, fields = complete_login_form_post(authorize, login)
    assert action == CALLBACK and fields.get("code") and fields.get("state")
    if user_field is not None:  # Apple adds the name once, at the first authorization
        fields["user"] = user_field
    return client.post("/auth/apple/callback", data=fields)  # the browser's form post


def test_apple_sign_in_posts_back_and_signs_its_client_secret(configure):
    client = configure()
    resp = sign_in(client, "ada@privaterelay.example")
    assert resp.status_code == 303 and resp.headers["location"] == "http://testserver/tip", resp.headers
    assert "oo_session=" in resp.headers["set-cookie"]
    [user] = users()
    assert user.email == expected_email("ada@privaterelay.example")
    assert user.oidc_subject == expected_sub("ada@privaterelay.example")
    with Session(db.get_engine()) as s:
        assert len(s.exec(select(UserSession)).all()) == 1


def test_the_name_apple_posts_once_is_kept(configure):
    client = configure()
    user = '{"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "ada@example.test"}'
    assert sign_in(client, "ada", user).headers["location"] == "http://testserver/tip"
    assert users()[0].name == "Ada Lovelace"
    assert sign_in(client, "ada", "x" * 5000).headers["location"] == "http://testserver/tip"  # ignored
    assert users()[0].name == "Ada Lovelace"  # a later sign-in without it keeps the name


def test_a_client_secret_signed_by_another_key_is_refused(configure):
    client = configure(pem=p256_pem())
    resp = sign_in(client, "ada")
    assert resp.headers["location"].endswith("/signin?error=token_exchange_failed")
    assert not users()


def test_a_wrong_key_id_is_refused(configure):
    client = configure(key_id="OTHERKEY00")
    assert sign_in(client, "ada").headers["location"].endswith("/signin?error=token_exchange_failed")


def test_apples_string_false_email_verified_does_not_make_an_admin(configure):
    login = "unverified-root@example.test"
    client = configure(OO_ADMIN_SEED_EMAIL=login)
    assert sign_in(client, login).headers["location"] == "http://testserver/tip"
    [user] = users()
    assert user.email == login and user.role == "user"  # "false" is not a verified address


def test_apples_string_true_email_verified_is_verified(configure):
    login = "root@example.test"
    client = configure(OO_ADMIN_SEED_EMAIL=login)
    assert sign_in(client, login).headers["location"] == "http://testserver/tip"
    assert users()[0].role == "admin"


def test_production_refuses_apple_without_its_signing_key():
    from pydantic import ValidationError

    from oo.settings import Settings

    with pytest.raises(ValidationError, match="OO_APPLE_TEAM_ID"):
        Settings(
            env="production",
            secret_key="x" * 40,
            encryption_keys="k1:" + "A" * 44,
            apple_client_id=CLIENT_ID,
        )


def test_over_https_apples_flow_cookie_survives_its_cross_site_post(configure):
    """Apple posts the callback from its own site: the flow cookie must be SameSite=None (and Secure)."""
    client = configure(OO_BASE_URL="https://oo.example")
    cookie = client.get("/auth/apple/start").headers["set-cookie"]
    assert cookie.startswith("__Host-") and "SameSite=none" in cookie and "Secure" in cookie
