"""SignInState: which sign-in options this server offers, and why the last attempt failed."""

from __future__ import annotations

import reflex as rx

from oo import loopback, routes
from oo.state.auth import AuthState, NotSignedIn

MESSAGES = {
    "bad_state": "That sign-in link was already used, expired, or started in another browser. Please try again.",
    "bad_nonce": "The sign-in answer did not match this request, so it was refused. Please try again.",
    "bad_signature": "The sign-in answer could not be verified, so it was refused.",
    "bad_iss": "The sign-in answer came from an unexpected issuer, so it was refused.",
    "bad_aud": "The sign-in answer was meant for another app, so it was refused.",
    "bad_exp": "The sign-in answer had expired. Please try again.",
    "token_exchange_failed": "The sign-in could not be completed (the code was refused). Please try again.",
    "denied": "Sign-in was cancelled.",
    "provider_error": "The sign-in provider reported an error. Please try again.",
    "provider_unavailable": "The sign-in provider could not be reached. Please try again in a minute.",
    "not_configured": "That sign-in option is not configured on this server.",
    "no_id_token": "The sign-in provider gave no identity, so it was refused.",
    "invalid_id_token": "The sign-in answer was invalid, so it was refused.",
    "slow_down": "Many sign-ins from here just now. Please wait a minute and try again.",
}


class SignInState(AuthState):
    """The sign-in page."""

    google_url: str = ""
    apple_url: str = ""
    demo_url: str = ""
    error: str = ""
    notice: str = ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Offer the configured options; a visitor who is already signed in goes to the tip."""
        from oo.settings import get_settings

        settings = get_settings()
        try:
            self._require_user()
            return rx.redirect(routes.TIP, replace=True)
        except NotSignedIn:
            pass
        base = settings.backend_url
        self.google_url = f"{base}/auth/google/start" if settings.google_client_id else ""
        self.apple_url = f"{base}/auth/apple/start" if settings.apple_client_id else ""
        # The demo posts back to the name the page was opened on (localhost or 127.0.0.1), where its
        # session cookie must land; OAuth starts on the registered base URL (its callback is there).
        demo = loopback.backend_link(settings, self.router.headers.host, "/auth/demo")
        self.demo_url = demo if settings.demo_enabled else ""
        params = self.router.url.query_parameters
        code = params.get("error", "")
        self.error = MESSAGES.get(code, "Sign-in failed. Please try again." if code else "")
        self.notice = "Your account and all its data were deleted." if params.get("deleted") == "1" else ""
        return None
