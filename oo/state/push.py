"""PushState: the **Notify me** button on /tip (U7) — the browser subscribes, the server validates."""

from __future__ import annotations

import logging

import reflex as rx

from oo.db import session_scope
from oo.integrations.push_subscription import InvalidSubscription
from oo.services.push import subscriptions as push
from oo.state.auth import AuthState
from oo.state.guard import signed_in_user, user_event

log = logging.getLogger("oo.push.state")

BROWSER_ERRORS = {
    "unsupported": "This browser cannot show notifications. On iPhone, add oO to the Home Screen first.",
    "denied": "Notifications are blocked for oO in this browser's settings.",
    "not_configured": "Notifications are not set up on this server.",
    "failed": "The browser could not subscribe. Please try again.",
}


class PushState(AuthState):
    """Whether this user gets pushed tips, and the VAPID public key the browser subscribes with."""

    vapid_key: str = ""  # public by design: the browser needs it as applicationServerKey
    subscribed: bool = False
    push_message: str = ""

    @user_event
    def load(self) -> rx.event.EventSpec | None:
        """Read the public key and whether the user has a device subscribed."""
        user = signed_in_user()
        try:
            self.vapid_key = push.vapid_keys().public_key
        except push.PushNotConfigured:
            self.vapid_key = ""
        with session_scope() as session:
            self.subscribed = push.has_subscription(session=session, user_id=user.id)
        self.push_message = ""
        return None

    @user_event
    def save_subscription(self, result: dict) -> rx.event.EventSpec | None:
        """The browser's answer: a subscription to store, or why there is none."""
        user = signed_in_user()
        if not isinstance(result, dict):
            self.push_message = BROWSER_ERRORS["failed"]
            return None
        if "error" in result:
            self.push_message = BROWSER_ERRORS.get(str(result.get("error")), BROWSER_ERRORS["failed"])
            return None
        try:
            with session_scope() as session:
                push.subscribe(session=session, user_id=user.id, data=result)
        except InvalidSubscription as exc:
            log.warning("push subscription refused for user %s: %s", user.id, exc)
            self.push_message = "This browser's push service is not supported."
            return None
        self.subscribed = True
        self.push_message = "Notifications on. oO will nudge you at good moments, never in your quiet hours."
        return None

    @user_event
    def drop_subscription(self, result: dict) -> rx.event.EventSpec | None:
        """The browser unsubscribed; forget its endpoint server-side too."""
        user = signed_in_user()
        endpoint = result.get("endpoint") if isinstance(result, dict) else None
        with session_scope() as session:
            if isinstance(endpoint, str) and endpoint:
                push.unsubscribe(session=session, user_id=user.id, endpoint=endpoint)
            self.subscribed = push.has_subscription(session=session, user_id=user.id)
        self.push_message = "Notifications off on this device."
        return None
