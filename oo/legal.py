"""Versions of the legal documents; a user consents to these versions at sign-in."""

TERMS_VERSION = "2026-11-28"
PRIVACY_VERSION = "2026-11-28"
DOCUMENTS = {"terms": TERMS_VERSION, "privacy": PRIVACY_VERSION}
