"""Both loopback names in development (never in production); the demo admin switch."""

import pytest

from oo import loopback
from oo.settings import Settings

PROD = {
    "env": "production",
    "secret_key": "x" * 40,
    "google_client_id": "id",
    "encryption_keys": "k1:" + "A" * 43,
}


def make(**env) -> Settings:
    return Settings(_env_file=None, **env)


def test_development_accepts_both_loopback_names():
    s = make(port=3917)
    assert loopback.accepted_origins(s) == ["http://127.0.0.1:3917", "http://localhost:3917"]
    assert loopback.page_base(s, "127.0.0.1:3917") == "http://127.0.0.1:3917"
    assert loopback.page_base(s, "localhost:3917") == "http://localhost:3917"


def test_development_split_ports_keep_the_callers_name_on_the_backend_port():
    s = make(port=3000, backend_url="http://localhost:8000")
    assert "http://127.0.0.1:3000" in loopback.accepted_origins(s)
    assert loopback.backend_link(s, "127.0.0.1:8000", "/auth/demo") == "http://127.0.0.1:8000/auth/demo"
    assert loopback.page_base(s, "127.0.0.1:8000") == "http://127.0.0.1:3000"


def test_foreign_hosts_get_the_configured_base():
    s = make(port=3000)
    assert loopback.page_base(s, "evil.example:3000") == "http://localhost:3000"
    assert loopback.page_base(s, None) == "http://localhost:3000"


def test_production_has_exactly_one_origin_even_on_localhost():
    s = make(**PROD, base_url="http://localhost:3000")
    assert loopback.accepted_origins(s) == ["http://localhost:3000"]
    assert loopback.page_base(s, "127.0.0.1:3000") == "http://localhost:3000"


def test_a_public_development_url_gets_no_aliases():
    s = make(base_url="https://oo.example.com")
    assert loopback.accepted_origins(s) == ["https://oo.example.com"]


def test_production_refuses_demo_admin():
    with pytest.raises(ValueError, match="OO_DEMO_ADMIN"):
        make(**PROD, base_url="https://oo.example", demo_admin=True)
