"""Unit tests for oo.integrations."""
