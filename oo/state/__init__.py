"""Reflex states, one module per page or feature."""
