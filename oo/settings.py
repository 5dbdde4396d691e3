"""Typed settings: the only module that reads the environment (``OO_`` prefix, optional ``.env``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oo import singletons

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev", "development", "placeholder"}
GOOGLE_DISCOVERY = "https://accounts.google.com/.well-known/openid-configuration"
APPLE_DISCOVERY = "https://appleid.apple.com/.well-known/openid-configuration"


class SettingsError(ValueError):
    """The configuration cannot run (missing or placeholder secret in production, demo in production)."""


class Settings(BaseSettings):
    """Every ``OO_`` setting, with development defaults; see the README table."""

    model_config = SettingsConfigDict(env_prefix="OO_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    port: int = 3000
    backend_port: int = 8000
    base_url: str = ""
    backend_url: str = ""
    data_dir: Path = ROOT / "data"
    database_url: str = ""
    secret_key: SecretStr = SecretStr("")
    encryption_keys: SecretStr = SecretStr("")
    demo: bool | None = None
    demo_admin: bool = False
    session_days: int = Field(30, ge=1, le=365)
    session_idle_days: int = Field(7, ge=1, le=365)

    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr("")
    google_discovery_url: str = GOOGLE_DISCOVERY
    apple_client_id: str = ""
    apple_client_secret: SecretStr = SecretStr("")
    apple_discovery_url: str = APPLE_DISCOVERY
    apple_team_id: str = ""
    apple_key_id: str = ""
    apple_private_key: SecretStr = SecretStr("")  # the .p8 PEM (EC P-256); signs the client secret
    admin_seed_email: str = ""

    todoist_client_id: str = ""
    todoist_client_secret: SecretStr = SecretStr("")
    todoist_auth_url: str = "https://todoist.com"
    todoist_api_url: str = "https://api.todoist.com/api/v1"
    sync_interval_seconds: int = Field(300, ge=5)
    snooze_hours: int = Field(3, ge=1, le=168)
    # Learner models kept hot per process (user x learning policy, ~12 kB each on average: the
    # default holds ~2,300 active users' seven models in ~200 MB); a miss reloads from the database.
    model_cache_size: int = Field(16_384, ge=64, le=10_000_000)
    tip_reshow_seconds: int = Field(90, ge=0, le=3600)  # a reload this soon shows the same tip (0: never)
    advice_default: bool = True  # the Advice switch of users who never touched it
    advice_repeat_days: int = Field(7, ge=0, le=365)  # a shown piece of advice rests this long
    advice_dismiss_days: int = Field(60, ge=1, le=3650)  # a dismissed one this long

    vapid_private_key: SecretStr = SecretStr("")
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:ops@oo.invalid"
    push_interval_seconds: int = Field(300, ge=10)
    push_daily_cap: int = Field(3, ge=0, le=50)
    default_quiet_hours: str = "22-8"
    push_allowed_hosts: str = ""
    push_min_gap_minutes: int = Field(90, ge=0, le=1440)
    push_decision_retention_days: int = Field(90, ge=1, le=3650)
    google_calendar_api_url: str = "https://www.googleapis.com/calendar/v3"
    google_calendar_cache_seconds: int = Field(300, ge=0, le=3600)

    redis_url: str = ""
    # With Redis, a worker keeps a tab's state and its lock while the tab's events keep coming
    # (Reflex's opportunistic lock, REFLEX_OPLOCK_ENABLED; rxconfig.py): one Redis read and write per
    # few seconds of a tab's events instead of per event. Another worker that needs the tab's state
    # asks for the lock, and the holder writes the state and lets go at once.
    redis_oplock: bool = True
    bus_url: str = ""
    scheduler: bool = True
    # Threads off the event loop (`oo.offload`): the quick calls (the tip paths, Reflex's state
    # writes) share this many, and the slow ones (admin, exports, syncs, push, jobs) a pool of their own.
    quick_threads: int = Field(1, ge=1, le=32)
    # Where /tip's service calls run (`oo.services.tips.engine`): "process", a child process of each
    # worker with a core of its own, or "thread", the worker's quick thread.
    tip_engine: Literal["process", "thread"] = "process"
    slow_threads: int = Field(4, ge=1, le=64)
    # Rate limits (issue 16): sign-in starts and demo accounts per client address and minute
    # (ten times that over all addresses); reactions per user and minute on the websocket; any
    # websocket event per connection and 10 s (three times that per user).
    rate_signin_per_minute: int = Field(20, ge=1, le=100_000)
    rate_reactions_per_minute: int = Field(60, ge=1, le=100_000)
    rate_reactions_window_seconds: float = Field(60.0, ge=1, le=3600)  # "minute" above: tests shorten it
    rate_loads_per_minute: int = Field(30, ge=1, le=100_000)  # tip loads (TipState.load) per user
    rate_events_per_10s: int = Field(100, ge=10, le=100_000)

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.base_url:
            self.base_url = f"http://localhost:{self.port}"
        self.base_url = self.base_url.rstrip("/")
        # Where HTTP routes (OAuth callbacks, webhooks, JSON API) live: the same origin in
        # production (one port); `make dev` points it at the separate backend port.
        self.backend_url = (self.backend_url or self.base_url).rstrip("/")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'oo.db'}"
        if self.env == "production":
            self._check_production()
        return self

    def _check_production(self) -> None:
        problems = []
        if (
            self.secret_key.get_secret_value().strip().lower() in PLACEHOLDERS
            or len(self.secret_key.get_secret_value()) < 32
        ):
            problems.append("OO_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.demo:
            problems.append("OO_DEMO must be off in production")
        if self.demo_admin:
            problems.append("OO_DEMO_ADMIN must be off in production")
        if not self.encryption_keys.get_secret_value().strip():
            problems.append("OO_ENCRYPTION_KEYS must be set (kid:base64key,...) to encrypt provider tokens")
        if self.apple_client_id and not (
            self.apple_team_id and self.apple_key_id and self.apple_private_key.get_secret_value()
        ):
            problems.append(
                "Sign in with Apple needs OO_APPLE_TEAM_ID, OO_APPLE_KEY_ID and OO_APPLE_PRIVATE_KEY"
            )
        if not self.google_client_id and not self.apple_client_id:
            problems.append("set OO_GOOGLE_CLIENT_ID/SECRET (or Apple) so people can sign in")
        if problems:
            raise SettingsError("oO refuses to start in production: " + "; ".join(problems))

    @property
    def is_dev(self) -> bool:
        """True outside production."""
        return self.env != "production"

    @property
    def demo_enabled(self) -> bool:
        """Demo mode: explicit OO_DEMO, else on only when no sign-in provider is configured (never in prod)."""
        if self.env == "production":
            return False
        if self.demo is not None:
            return self.demo
        return not (self.google_client_id or self.apple_client_id)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` (and the ``__Host-`` prefix) when the site is served over https."""
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        """The scheme://host[:port] of the public base URL."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def secret(self) -> str:
        """The app secret: the configured one, or one generated once and kept under the data dir (dev)."""
        value = self.secret_key.get_secret_value()
        if value:
            return value
        return _dev_secret(self.data_dir / "secret_key")


_dev_secrets: dict[Path, str] = {}  # read once per path: `secret()` is called per push and per tip ref


def _dev_secret(path: Path) -> str:
    if path in _dev_secrets:  # no stat per call: it is read per tip reference
        return _dev_secrets[path]
    if path.exists():
        _dev_secrets[path] = value = path.read_text().strip()
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    _dev_secrets[path] = value
    return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once); a bad configuration stops with a readable message."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("invalid oO configuration:\n  " + "\n  ".join(lines)) from None


singletons.on_reset("settings", get_settings.cache_clear)
