"""Settings: defaults, production refusals, demo rules."""

import pytest

from oo.settings import Settings


def make(**env) -> Settings:
    return Settings(_env_file=None, **env)


def test_development_defaults(tmp_path):
    s = make(data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'oo.db'}"
    assert s.base_url == "http://localhost:3000" and s.backend_url == s.base_url
    assert s.demo_enabled and not s.secure_cookies
    secret = s.secret()
    assert len(secret) >= 32 and make(data_dir=tmp_path).secret() == secret  # kept under ./data


def test_demo_is_off_by_default_when_google_is_configured(tmp_path):
    assert not make(data_dir=tmp_path, google_client_id="id").demo_enabled
    assert make(data_dir=tmp_path, google_client_id="id", demo=True).demo_enabled


@pytest.mark.parametrize("secret", ["", "changeme", "short"])
def test_production_refuses_missing_or_placeholder_secret(secret):
    with pytest.raises(ValueError, match="OO_SECRET_KEY"):
        make(env="production", secret_key=secret, google_client_id="id", base_url="https://oo.example")


def test_production_refuses_demo():
    with pytest.raises(ValueError, match="OO_DEMO"):
        make(env="production", secret_key="x" * 40, google_client_id="id", demo=True)


def test_production_refuses_missing_encryption_keys():
    with pytest.raises(ValueError, match="OO_ENCRYPTION_KEYS"):
        make(env="production", secret_key="x" * 40, google_client_id="id")


def test_production_ok_and_secure_cookies_on_https():
    s = make(
        env="production",
        secret_key="x" * 40,
        google_client_id="id",
        base_url="https://oo.example/",
        encryption_keys="k1:" + "A" * 43,
    )
    assert s.base_url == "https://oo.example" and s.secure_cookies and not s.demo_enabled
