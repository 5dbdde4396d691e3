"""At-rest encryption: AEAD, key ids, rotation, tampering."""

import pytest

from oo.crypto import CryptoError, Keyring, generate_key


def test_rotation_old_keys_decrypt_new_writes_use_newest():
    k1 = generate_key()
    token = Keyring.parse(f"k1:{k1}").encrypt("tok")
    rotated = Keyring.parse(f"k2:{generate_key()},k1:{k1}")
    assert rotated.decrypt(token) == "tok"
    assert rotated.needs_rotation(token)
    assert rotated.encrypt("tok").startswith("v1.k2.")
    assert not rotated.needs_rotation(rotated.encrypt("tok"))


def test_tampered_or_foreign_ciphertext_is_refused():
    ring = Keyring.parse("k1:" + generate_key())
    token = ring.encrypt("secret")
    body = token.split(".", 2)[2]
    flipped = token[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(CryptoError):
        ring.decrypt(flipped)
    with pytest.raises(CryptoError):
        Keyring.parse("k1:" + generate_key()).decrypt(token)
    with pytest.raises(CryptoError):
        ring.decrypt("not-a-token")


def test_ciphertext_does_not_contain_plaintext_and_is_randomised():
    ring = Keyring.derived("some app secret")
    a, b = ring.encrypt("plain-token-123"), ring.encrypt("plain-token-123")
    assert a != b and "plain-token-123" not in a


def test_bad_key_spec_is_refused():
    with pytest.raises(CryptoError):
        Keyring.parse("k1:short")
    with pytest.raises(CryptoError):
        Keyring.parse("")
