"""Browser tests against the real running app (production build)."""
