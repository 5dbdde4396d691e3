"""Use cases as plain functions with keyword-only arguments (no Reflex imports here)."""
