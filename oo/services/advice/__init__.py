"""Advice (R10): the library of short pieces of advice, serving them as tips, and mixing them with tasks.

- `library`: the pieces (built-in, seeded from ``oo/content/advice_v*.json``, and operators'
  own), validation, reads and the idempotent versioned seed;
- `picking`: which piece suits this user now (tags against the moment, repetition rules);
- `mixing`: the per-user learner that chooses between the best task and the best advice,
  with an exact, logged probability, and its stored state;
- `preferences`: the user's Advice switch.

Serving a piece through `recommend()` is `oo.services.tips.advice`; the audited admin writes and
the performance report are `oo.services.admin.advice` and `oo.services.admin.advice_performance`.
Imports only models, the recommender and settings (below `tips` and `learning`, which use it).
"""
