"""Authenticated encryption of secrets at rest (provider tokens), with key ids and rotation.

Ciphertext format: ``v1.<key id>.<base64url(nonce || AES-256-GCM ciphertext)>``. The key id is also
bound as associated data, so a ciphertext cannot be moved to another key id. Keys come from
``OO_ENCRYPTION_KEYS`` (``kid:base64key,kid:base64key``, newest first); in development a key is
derived from the app secret. New writes use the newest key; older keys still decrypt, and
``needs_rotation`` tells a background job which values to re-encrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class CryptoError(ValueError):
    """A value could not be decrypted (unknown key id, tampered, or not ours)."""


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Keyring:
    """Named 256-bit keys, newest first.

    Examples:
        >>> ring = Keyring.parse("k2:" + generate_key() + ",k1:" + generate_key())
        >>> token = ring.encrypt("secret-token")
        >>> token.startswith("v1.k2.") and ring.decrypt(token)
        'secret-token'
    """

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Parse ``kid:base64key,...`` (newest first)."""
        keys = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kid, _, b64 = part.partition(":")
            try:
                raw = _b64d(b64)
            except ValueError:  # binascii.Error is a ValueError
                raw = b""
            if not kid.isalnum() or len(raw) != 32:
                raise CryptoError("OO_ENCRYPTION_KEYS entries must be kid:base64(32 bytes), kid alphanumeric")
            keys.append((kid, raw))
        if not keys:
            raise CryptoError("no encryption key configured")
        return cls(tuple(keys))

    @classmethod
    def derived(cls, secret: str) -> Keyring:
        """A development keyring derived from the app secret."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"oo-at-rest", info=b"v1").derive(
            secret.encode()
        )
        return cls((("dev", key),))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the newest key."""
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, plaintext.encode(), kid.encode())
        return f"v1.{kid}.{_b64e(nonce + ct)}"

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key the token names."""
        try:
            version, kid, body = token.split(".", 2)
            key = dict(self.keys)[kid]
            raw = _b64d(body)
            if version != "v1":
                raise CryptoError("unknown ciphertext version")
            return AESGCM(key).decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except (ValueError, KeyError, InvalidTag) as exc:
            raise CryptoError("cannot decrypt value (unknown key id or tampered)") from exc

    def needs_rotation(self, token: str) -> bool:
        """True when the token was written with an older key."""
        return not token.startswith(f"v1.{self.keys[0][0]}.")


def generate_key() -> str:
    """A fresh random key, base64url (for ``OO_ENCRYPTION_KEYS``)."""
    return _b64e(os.urandom(32))


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of a string (session ids and OAuth states are stored only hashed)."""
    return hashlib.sha256(value.encode()).hexdigest()
