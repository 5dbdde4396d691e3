"""OpenID Connect sign-in (Google, Apple) with Authlib: code flow + PKCE S256 + state + nonce.

The provider is described by its discovery document. The ID token is validated fully: signature
against the provider's JWKS (asymmetric algorithms only), ``iss`` exact, ``aud`` == client id,
``azp`` when there are several audiences, ``exp``/``iat``, and ``nonce`` equal to the one sent.
Users are keyed by ``iss`` + ``sub``, never by email.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import JoseError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken

from oo.integrations.apple import AppleKey, client_secret

# Asymmetric algorithms only: an attacker must not be able to pick HS256 with a public key.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
# Providers answer within a second or two; a stuck provider must not hold a sign-in for long.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DISCOVERY_TTL = 3600.0


class OidcError(Exception):
    """Sign-in failed; ``code`` is a short machine-readable reason shown as a clear message."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class OidcProviderConfig:
    """One configured provider."""

    name: str
    client_id: str
    client_secret: str
    discovery_url: str
    redirect_uri: str
    scope: str = "openid email profile"
    response_mode: str | None = None
    signing_key: AppleKey | None = None  # Apple: the client secret is a JWT signed per exchange


@dataclass(frozen=True)
class AuthRequest:
    """What the start of a sign-in produces: where to send the browser and what to remember."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """A validated identity from an ID token."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = asyncio.Lock()


async def _get_json(http: httpx.AsyncClient, url: str, cache: dict, *, refresh: bool = False) -> dict:
    hit = cache.get(url)
    if hit and not refresh and time.monotonic() - hit[0] < DISCOVERY_TTL:
        return hit[1]
    try:
        resp = await http.get(url, timeout=TIMEOUT)
        resp.raise_for_status()
        doc = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError("provider_unavailable", f"cannot read {url}: {type(exc).__name__}") from exc
    cache[url] = (time.monotonic(), doc)
    return doc


async def discovery(http: httpx.AsyncClient, provider: OidcProviderConfig) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour)."""
    async with _lock:
        return await _get_json(http, provider.discovery_url, _discovery_cache)


async def start(http: httpx.AsyncClient, provider: OidcProviderConfig) -> AuthRequest:
    """Build the authorization URL with fresh state, nonce and PKCE verifier."""
    meta = await discovery(http, provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    client = AsyncOAuth2Client(
        client_id=provider.client_id, redirect_uri=provider.redirect_uri, scope=provider.scope
    )
    extra = {"response_mode": provider.response_mode} if provider.response_mode else {}
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"],
        state=state,
        **extra,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


async def finish(
    http: httpx.AsyncClient,
    provider: OidcProviderConfig,
    *,
    code: str,
    nonce: str,
    code_verifier: str,
    iss: str | None = None,
) -> Identity:
    """Exchange the code (with the PKCE verifier) and validate the ID token.

    ``iss`` is the RFC 9207 issuer parameter of the callback, when the provider sends one: it must
    be this provider's issuer (mix-up defence when several providers are configured).
    """
    meta = await discovery(http, provider)
    if iss is not None and iss != meta["issuer"]:
        raise OidcError("bad_iss", "callback issuer does not match the provider")
    secret = provider.client_secret
    if provider.signing_key is not None:
        secret = client_secret(provider.signing_key, client_id=provider.client_id, audience=meta["issuer"])
    client = AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        redirect_uri=provider.redirect_uri,
        token_endpoint_auth_method="client_secret_post",
        timeout=TIMEOUT,
    )
    try:
        token = await client.fetch_token(
            meta["token_endpoint"], code=code, code_verifier=code_verifier, grant_type="authorization_code"
        )
    except Exception as exc:  # Authlib raises OAuthError or httpx errors; both mean "no token"
        raise OidcError("token_exchange_failed", type(exc).__name__) from exc
    finally:
        await client.aclose()
    id_token = token.get("id_token")
    if not id_token:
        raise OidcError("no_id_token")
    claims = await _validate(http, provider, meta, id_token, nonce)
    return Identity(
        issuer=claims["iss"],
        subject=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=is_true(claims.get("email_verified")),
        name=claims.get("name"),
    )


async def _validate(
    http: httpx.AsyncClient, provider: OidcProviderConfig, meta: dict, id_token: str, nonce: str
) -> dict[str, Any]:
    options = {
        "iss": {"essential": True, "value": meta["issuer"]},
        "aud": {"essential": True, "value": provider.client_id},
        "nonce": {"essential": True, "value": nonce},
        "sub": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": provider.client_id}
    jwt = JsonWebToken(ID_TOKEN_ALGORITHMS)
    for refresh in (False, True):
        jwks = await _get_json(http, meta["jwks_uri"], _jwks_cache, refresh=refresh)
        try:
            claims = jwt.decode(
                id_token,
                JsonWebKey.import_key_set(jwks),
                claims_cls=CodeIDToken,
                claims_options=options,
                claims_params=params,
            )
        except (JoseError, ValueError) as exc:
            if refresh:  # still failing with fresh keys: not the provider's rotation, a bad token
                raise OidcError("bad_signature", type(exc).__name__) from exc
            continue
        try:
            claims.validate(leeway=60)
        except JoseError as exc:
            raise OidcError(_reason(exc), str(exc)) from exc
        if claims.get("nonce") != nonce:
            raise OidcError("bad_nonce")
        return dict(claims)
    raise OidcError("bad_signature")


def is_true(value: Any) -> bool:
    """A boolean claim that Apple may send as the string "true" or "false".

    >>> [is_true(v) for v in (True, "true", "false", False, None, "yes")]
    [True, True, False, False, False, False]
    """
    return value is True or value == "true"


def _reason(exc: JoseError) -> str:
    text = str(exc).lower()
    for key in ("nonce", "iss", "aud", "exp", "azp", "signature"):
        if key in text:
            return f"bad_{key}"
    return "invalid_id_token"
