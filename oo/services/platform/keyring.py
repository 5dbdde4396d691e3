"""The keyring that encrypts provider tokens at rest, built from the settings.

``OO_ENCRYPTION_KEYS`` (``kid:base64key,...``, newest first) is the source in production: new
writes use the newest key and every listed key still decrypts, which is how keys rotate. In
development, with no keys configured, a key is derived from the app secret so `make run` works
without setup.
"""

from __future__ import annotations

from functools import lru_cache

from oo import singletons
from oo.crypto import CryptoError, Keyring
from oo.settings import Settings, get_settings


class SecretsNotConfigured(CryptoError):
    """Production without ``OO_ENCRYPTION_KEYS``: tokens cannot be stored."""


def keyring(settings: Settings | None = None) -> Keyring:
    """The keyring for provider tokens.

    Args:
        settings: Settings to read; the process-wide ones by default.

    Returns:
        The configured keyring, or in development one derived from the app secret.

    Raises:
        SecretsNotConfigured: In production when ``OO_ENCRYPTION_KEYS`` is empty.
        CryptoError: When ``OO_ENCRYPTION_KEYS`` is malformed.
    """
    settings = settings or get_settings()
    spec = settings.encryption_keys.get_secret_value().strip()
    if spec:
        return _parsed(spec)
    if not settings.is_dev:
        raise SecretsNotConfigured("set OO_ENCRYPTION_KEYS to store provider tokens in production")
    return _derived(settings.secret())


@lru_cache(maxsize=4)
def _parsed(spec: str) -> Keyring:
    return Keyring.parse(spec)


@lru_cache(maxsize=4)
def _derived(secret: str) -> Keyring:
    return Keyring.derived(secret)


def _forget_keyrings() -> None:
    _parsed.cache_clear()
    _derived.cache_clear()


singletons.on_reset("keyring", _forget_keyrings)
