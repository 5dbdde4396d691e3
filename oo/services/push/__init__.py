"""Web Push: subscriptions (VAPID, encrypted at rest), the rules of when a push may go out, delivery."""
