"""The flow of one tip: candidates, the recommend contract, its explanation, and reactions to it.

Owns `recommend()` (every pick goes through it), the candidate read, the explanation and the
reaction (feedback) recording. Imports `learning` and `sources`; nothing here imports `admin`.
"""
