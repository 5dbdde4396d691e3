"""oO: one tip, right now.

Kept import-light: rxconfig imports oo.settings.
"""
