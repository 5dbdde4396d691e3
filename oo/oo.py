"""Composition root: assembles the app (pages, HTTP routes, middleware, lifespan tasks)."""

import gc

import reflex as rx

import admin
from oo import pages, routes
from oo.http.app import create_api
from oo.http.limits import BodyLimit
from oo.http.middleware import SecurityHeaders
from oo.jobs import wiring
from oo.state import frontend_errors
from oo.state.account import AccountState
from oo.state.advice import AdviceSwitchState
from oo.state.auth import AuthState
from oo.state.connect import ConnectState
from oo.state.push import PushState
from oo.state.ratelimit import EventRateLimit
from oo.state.signin import SignInState
from oo.state.state_files import sweep_at_most_every
from oo.state.tip import TipState
from oo.state.yours import YoursState

# Full collections every second at load set the latency tail (reflex-notes §12; bench/README.md):
# a larger young-generation threshold cut p99 in half for the same work.
gc.set_threshold(50_000, 20, 100)
# Reflex's sweep of expired tab-state files stats every file several times a second at load.
sweep_at_most_every()

HEAD = [
    rx.el.link(rel="manifest", href="/manifest.webmanifest"),
    rx.el.meta(name="theme-color", content="#000000"),
    rx.el.meta(name="color-scheme", content="dark"),
    rx.el.link(rel="icon", href="/favicon.ico", sizes="any"),
    rx.el.link(rel="icon", href="/icon-192.png", type="image/png"),
    rx.el.link(rel="stylesheet", href="/oo.css"),
    rx.el.script(src="/offline.js", defer=True),
    rx.el.link(rel="apple-touch-icon", href="/icon-192.png"),
    rx.el.meta(name="apple-mobile-web-app-capable", content="yes"),
    rx.el.meta(name="apple-mobile-web-app-status-bar-style", content="black"),
]


def index() -> rx.Component:
    """The root only forwards to the tip (or sign-in)."""
    return rx.box(style={"background": "#000", "min_height": "100dvh"})


class IndexState(AuthState):
    """Root redirect."""

    @rx.event
    def forward(self) -> rx.event.EventSpec:
        """Signed in → /tip, else /signin."""
        return rx.redirect(routes.TIP if self._current_user() else routes.SIGNIN, replace=True)


app = rx.App(
    head_components=HEAD,
    api_transformer=[create_api(), admin.AdminGate, BodyLimit, SecurityHeaders],
    frontend_exception_handler=frontend_errors.report,
)
app.add_middleware(EventRateLimit(), index=0)  # before hydration: binds tabs to their session
wiring.register(app)
app.add_page(index, route="/", title="oO", on_load=IndexState.forward)
app.add_page(pages.signin_page, route=routes.SIGNIN, title="Sign in · oO", on_load=SignInState.load)
app.add_page(
    pages.connect_page,
    route=routes.CONNECT,
    title="Sources · oO",
    on_load=[ConnectState.load, AccountState.load, AdviceSwitchState.load, YoursState.load],
)
app.add_page(pages.tip_page, route=routes.TIP, title="oO", on_load=[TipState.load, PushState.load])
app.add_page(pages.terms_page, route=routes.TERMS, title="Terms · oO")
app.add_page(pages.privacy_page, route=routes.PRIVACY, title="Privacy · oO")
app.add_page(pages.not_found_page, route="404", title="Not found · oO")
admin.register(app)
