"""Reflex configuration: everything comes from oo.settings (the only module that reads OO_ variables)."""

import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from oo.loopback import accepted_origins
from oo.settings import get_settings

settings = get_settings()
if settings.redis_url and settings.redis_oplock:  # read by Reflex's Redis state manager at its start
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
# `make run` serves the production build on one port (OO_PORT); `make dev` splits Vite (OO_PORT)
# and the backend (OO_BACKEND_PORT, default 8000). scripts/run sets REFLEX_ENV_MODE accordingly.
single_port = os.environ.get("REFLEX_ENV_MODE", "dev") == "prod"
backend_port = settings.port if single_port else settings.backend_port

config = rx.Config(
    app_name="oo",
    db_url=settings.database_url,
    redis_url=settings.redis_url or None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=accepted_origins(settings),
    frontend_port=settings.port,
    backend_port=backend_port,
    api_url=f"http://localhost:{backend_port}" if "localhost" in settings.base_url else settings.base_url,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="gray", gray_color="gray", radius="large")
        )
    ],
    disable_plugins=[SitemapPlugin],
)
