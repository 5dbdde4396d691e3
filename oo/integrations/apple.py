"""Sign in with Apple's client secret: a short-lived ES256 JWT the app signs itself.

Apple has no static client secret. The client authenticates at the token endpoint with
``client_secret_post`` where the secret is a JWT signed with the team's private key (the ``.p8``
file, EC P-256) from the Apple developer account: header ``alg=ES256`` and ``kid`` = the key id;
claims ``iss`` = team id, ``sub`` = the Services ID (client id), ``aud`` = Apple's issuer,
``iat``/``exp`` at most six months apart. A pasted, pre-signed secret would stop working when it
expires, so oO signs a fresh one (valid for five minutes) for every code exchange.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from authlib.jose import JsonWebKey, jwt

LIFETIME_SECONDS = 300


@dataclass(frozen=True)
class AppleKey:
    """The developer-account key that signs client secrets."""

    team_id: str
    key_id: str
    private_key_pem: str


def load_private_key(pem: str) -> str:
    r"""The PEM as configured; a one-line value with literal ``\n`` (an env var) is unfolded.

    Raises:
        ValueError: the key is not an EC P-256 private key.

    >>> load_private_key("x")
    Traceback (most recent call last):
    ...
    ValueError: OO_APPLE_PRIVATE_KEY is not an EC P-256 private key (PEM)
    """
    text = pem.strip().replace("\\n", "\n")
    try:
        key = JsonWebKey.import_key(text, {"kty": "EC"})
        ok = key.as_dict(is_private=True).get("crv") == "P-256" and "d" in key.as_dict(is_private=True)
    except Exception:  # authlib raises several types for unreadable keys
        ok = False
    if not ok:
        raise ValueError("OO_APPLE_PRIVATE_KEY is not an EC P-256 private key (PEM)")
    return text


def client_secret(key: AppleKey, *, client_id: str, audience: str, now: float | None = None) -> str:
    """A client-secret JWT for one token request at ``audience`` (Apple's issuer)."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "ES256", "kid": key.key_id}
    claims = {
        "iss": key.team_id,
        "sub": client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
    }
    return jwt.encode(header, claims, load_private_key(key.private_key_pem)).decode()


MAX_USER_FIELD = 2048
MAX_NAME = 200


def name_from_user_field(raw: str | None) -> str | None:
    """The name Apple posts once, at the first authorization, in the ``user`` form field.

    Apple puts no name in the ID token; the callback's ``user`` field is JSON such as
    ``{"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "..."}``. Anything else
    (absent, too long, not that shape) gives None.

    >>> name_from_user_field('{"name": {"firstName": "Ada", "lastName": "Lovelace"}}')
    'Ada Lovelace'
    >>> name_from_user_field('[[[') is None and name_from_user_field(None) is None
    True
    """
    if not raw or len(raw) > MAX_USER_FIELD:
        return None
    try:
        name = json.loads(raw).get("name") or {}
        parts = [name.get("firstName"), name.get("lastName")]
    except (ValueError, AttributeError):
        return None
    text = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return text[:MAX_NAME] or None
