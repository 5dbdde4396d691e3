"""Advice (R10): the library of short pieces of advice, serving them as tips, and mixing them with tasks.

- `library`: the pieces (built-in, seeded from ``oo/content/advice_v*.json``, and operators'
  own), validation, the idempotent versioned seed and the audited admin writes;
- `picking`: which piece suits this user now (tags against the moment, repetition rules);
- `mixing`: the per-user learner that chooses between the best task and the best advice,
  with an exact, logged probability;
- `serving`: logging a served piece as a ``tip_view`` through the same contract as tasks;
- `performance`: per-piece and per-tag numbers for the console.
"""
