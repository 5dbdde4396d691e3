"""Sign-in page: Google (and Apple) through OpenID Connect, or the demo in demo mode."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, NativeLink, black_page, legal_links, post_button, wordmark
from oo.state.signin import SignInState

BUTTON = {"width": "100%", "size": "3", "high_contrast": True}


def signin_page() -> rx.Component:
    """One screen: the mark, the options, the consent line."""
    return black_page(
        wordmark(),
        rx.text("One tip. Right now.", color=MUTED, size="4"),
        rx.cond(
            SignInState.notice != "",
            rx.callout(SignInState.notice, role="status", data_testid="signin-notice", width="100%"),
        ),
        rx.cond(
            SignInState.error != "",
            rx.callout(
                SignInState.error, color_scheme="red", role="alert", data_testid="signin-error", width="100%"
            ),
        ),
        rx.vstack(
            rx.cond(
                SignInState.google_url != "",
                # A plain <a>: a full navigation to the backend route, not a client-side route change.
                NativeLink.create(
                    rx.button("Sign in with Google", **BUTTON),
                    href=SignInState.google_url,
                    data_testid="google-signin",
                    style={"width": "100%"},
                ),
            ),
            rx.cond(
                SignInState.apple_url != "",
                NativeLink.create(
                    rx.button("Sign in with Apple", **BUTTON),
                    href=SignInState.apple_url,
                    style={"width": "100%"},
                ),
            ),
            rx.cond(
                SignInState.demo_url != "",
                post_button("Try the demo", SignInState.demo_url, variant="outline", **BUTTON),
            ),
            width="100%",
            spacing="3",
        ),
        rx.text(
            "By continuing you agree to the ",
            rx.link("Terms", href=routes.TERMS, color="#fff"),
            " and the ",
            rx.link("Privacy notice", href=routes.PRIVACY, color="#fff"),
            ". No passwords, ever.",
            color=MUTED,
            size="2",
            text_align="center",
        ),
        legal_links(),
    )
