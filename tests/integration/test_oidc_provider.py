"""The loopback OpenID provider harness works, checked with Authlib alone (no oO code)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from tests.support.oidc import (
    OidcProvider,
    complete_login,
    expected_email,
    expected_name,
    expected_sub,
)

CLIENT_ID = "oo-test"
CLIENT_SECRET = secrets.token_urlsafe(24)
# Never requested: complete_login stops at the redirect back to the client.
REDIRECT_URI = "http://127.0.0.1:9/auth/callback"
SCOPE = "openid email profile"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI]) as provider:
        yield provider


@pytest.fixture(scope="module")
def metadata(idp: OidcProvider) -> dict[str, Any]:
    return httpx.get(idp.discovery_url).raise_for_status().json()


def _client(auth_method: str = "client_secret_basic") -> OAuth2Client:
    return OAuth2Client(
        CLIENT_ID,
        CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )


def _authorize(client: OAuth2Client, metadata: dict[str, Any], login: str) -> dict[str, str]:
    """Run the front channel; return the verifier, nonce, state and the callback URL."""
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = complete_login(url, login)
    return {"verifier": verifier, "nonce": nonce, "state": state, "location": location}


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _validate_id_token(id_token: str, metadata: dict[str, Any], nonce: str) -> dict[str, Any]:
    jwks = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"]).raise_for_status().json())
    claims = jwt.decode(
        id_token,
        jwks,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": CLIENT_ID},
        },
        claims_params={"nonce": nonce, "client_id": CLIENT_ID},
    )
    claims.validate(leeway=5)
    return dict(claims)


def test_discovery_document_advertises_code_flow_with_s256(idp: OidcProvider, metadata: dict[str, Any]):
    assert metadata["issuer"] == idp.issuer
    assert metadata["jwks_uri"].startswith(idp.issuer)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    assert {"openid", "email", "profile"} <= set(metadata["scopes_supported"])
    assert {"sub", "email", "email_verified", "name"} <= set(metadata["claims_supported"])


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_code_flow_issues_valid_id_token(metadata: dict[str, Any], auth_method: str):
    client = _client(auth_method)
    flow = _authorize(client, metadata, "alice")
    params = _query(flow["location"])
    assert flow["location"].startswith(REDIRECT_URI + "?")
    assert params["state"] == flow["state"]
    assert params["iss"] == metadata["issuer"]

    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=flow["location"],
        code_verifier=flow["verifier"],
    )
    claims = _validate_id_token(token["id_token"], metadata, flow["nonce"])

    assert claims["sub"] == expected_sub("alice") == "sub-alice"
    assert claims["email"] == expected_email("alice") == "alice@example.test"
    assert claims["email_verified"] is True
    assert claims["name"] == expected_name("alice") == "Alice"
    userinfo = client.get(metadata["userinfo_endpoint"]).raise_for_status().json()
    assert userinfo["sub"] == claims["sub"]


def test_email_login_keeps_its_address(metadata: dict[str, Any]):
    client = _client()
    flow = _authorize(client, metadata, "bob@example.org")
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=flow["location"], code_verifier=flow["verifier"]
    )
    claims = _validate_id_token(token["id_token"], metadata, flow["nonce"])
    assert (claims["sub"], claims["email"], claims["name"]) == (
        "sub-bob@example.org",
        "bob@example.org",
        "Bob",
    )


def test_code_is_single_use(metadata: dict[str, Any]):
    client = _client()
    flow = _authorize(client, metadata, "carol")
    client.fetch_token(
        metadata["token_endpoint"], authorization_response=flow["location"], code_verifier=flow["verifier"]
    )
    with pytest.raises(OAuthError) as replay:
        _client().fetch_token(
            metadata["token_endpoint"],
            authorization_response=flow["location"],
            code_verifier=flow["verifier"],
        )
    assert replay.value.error == "invalid_grant"


def test_wrong_code_verifier_is_rejected(metadata: dict[str, Any]):
    client = _client()
    flow = _authorize(client, metadata, "dave")
    with pytest.raises(OAuthError) as wrong:
        client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=flow["location"],
            code_verifier=generate_token(48),
        )
    assert wrong.value.error == "invalid_grant"


def test_authorization_without_pkce_is_refused(metadata: dict[str, Any]):
    client = OAuth2Client(CLIENT_ID, CLIENT_SECRET, scope=SCOPE, redirect_uri=REDIRECT_URI)
    url, _ = client.create_authorization_url(metadata["authorization_endpoint"], nonce=generate_token(20))
    params = _query(complete_login(url, "erin"))
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]


def test_consent_page_is_one_click():
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI], consent="prompt") as idp:
        metadata = httpx.get(idp.discovery_url).raise_for_status().json()
        flow = _authorize(_client(), metadata, "frank")
    params = _query(flow["location"])
    assert params["state"] == flow["state"]
    assert "code" in params
