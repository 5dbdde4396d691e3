"""The provider-token keyring built from the settings."""

import pytest
from pydantic import SecretStr

from oo.crypto import CryptoError, Keyring, generate_key
from oo.services.platform.keyring import SecretsNotConfigured, keyring
from oo.settings import Settings


def make(**env) -> Settings:
    return Settings(_env_file=None, **env)


def test_configured_keys_rotate_newest_first(tmp_path):
    old = generate_key()
    written_before = Keyring.parse(f"k1:{old}").encrypt("todoist-token")
    ring = keyring(make(data_dir=tmp_path, encryption_keys=f"k2:{generate_key()},k1:{old}"))
    assert ring.decrypt(written_before) == "todoist-token"
    assert ring.encrypt("todoist-token").startswith("v1.k2.")


def test_development_derives_a_stable_key_from_the_app_secret(tmp_path):
    token = keyring(make(data_dir=tmp_path)).encrypt("t")
    assert keyring(make(data_dir=tmp_path)).decrypt(token) == "t"
    with pytest.raises(CryptoError):
        keyring(make(data_dir=tmp_path / "other")).decrypt(token)


def test_production_without_keys_refuses_to_store_tokens():
    # Production settings without keys are refused at start (test_settings); the keyring refuses
    # too, in case settings are ever built without validation.
    with pytest.raises(ValueError, match="OO_ENCRYPTION_KEYS"):
        make(env="production", secret_key="s" * 40, google_client_id="id", base_url="https://oo.example")
    settings = Settings.model_construct(
        env="production", encryption_keys=SecretStr(""), secret_key=SecretStr("s" * 40)
    )
    with pytest.raises(SecretsNotConfigured, match="OO_ENCRYPTION_KEYS"):
        keyring(settings)


def test_malformed_keys_are_a_clear_error(tmp_path):
    with pytest.raises(CryptoError, match="kid:base64"):
        keyring(make(data_dir=tmp_path, encryption_keys="k1:short"))
