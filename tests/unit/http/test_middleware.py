"""The response headers middleware: security headers everywhere, a year's caching only for hashed build files."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from oo import singletons
from oo.http.middleware import SecurityHeaders


def _app() -> SecurityHeaders:
    async def ok(request):
        return PlainTextResponse("x")

    async def missing(request):
        return PlainTextResponse("no", status_code=404)

    return SecurityHeaders(
        Starlette(
            routes=[
                Route("/assets/entry.client-9B3ylPSy.js", ok),
                Route("/assets/KaTeX_AMS-Regular-BQhdFMY1.woff2", ok),
                Route("/assets/gone-AAAAAAAA.js", missing),
                Route("/assets/entry.js", ok),
                Route("/tip/", ok),
                Route("/offline.js", ok),
            ]
        )
    )


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    singletons.reset()
    yield TestClient(_app())
    singletons.reset()


@pytest.mark.parametrize(
    "path", ["/assets/entry.client-9B3ylPSy.js", "/assets/KaTeX_AMS-Regular-BQhdFMY1.woff2"]
)
def test_a_content_hashed_build_file_is_cached_for_a_year(client, path):
    response = client.get(path)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/assets/entry.js", "/tip/", "/offline.js", "/assets/gone-AAAAAAAA.js"])
def test_pages_unhashed_files_and_misses_keep_the_default(client, path):
    response = client.get(path)
    assert "cache-control" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"
