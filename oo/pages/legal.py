"""Terms and Privacy (U4): what oO reads, stores, computes, for how long, and how to delete it."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import PAGE_STYLE
from oo.legal import PRIVACY_VERSION, TERMS_VERSION

PRIVACY = f"""
# Privacy notice

Version {PRIVACY_VERSION}. oO shows you one well-timed suggestion from the tasks you already keep.
This notice says exactly what that takes.

## What we read
- **From your sign-in provider, if you sign in with Google or Apple:** your account identifier,
  e-mail address and name — nothing else, and never your password (oO has none). A **demo**
  account (where the server offers one) signs in with no provider: it has no e-mail and no name.
- **From Todoist, once you connect it:** your open tasks (title, description, priority, labels,
  due date, deadline, creation time, project id) and your time zone. We ask for the
  `data:read_write` scope only because **Done** closes the task in Todoist for you.
- **From your browser:** the reactions you give a tip (Done, Snooze, Dismiss, Helpful, Not
  helpful), and — only if you press **Notify me** — a push subscription address.

## What we store
- Your profile (identifier, e-mail and name if a provider gave them, role, time zone), the sessions you are signed in with
  (we keep only a one-way hash of the session id), and which versions of these documents you
  accepted.
- A copy of your open tasks, refreshed from the source; completed and deleted tasks leave the copy.
- Provider access tokens, **encrypted at rest** with authenticated encryption; they never reach
  your browser.
- The tips we showed you and your reactions, the features the learner saw for each pick, and your
  personal model's parameters.

## What we compute
A small model **per person** learns which kind of task you act on at which time (features such as
overdue, task age, priority, hour of day and day of week). It is not shared with other people and
not used for advertising. We do not sell or share your data with anyone. On the Connect page,
**What oO has learned about you** says in plain words what weighs most for you now, and
**Reset what oO learned** deletes your model so it starts again from scratch.

## Seeing and taking your data
**Connect → Download my data** gives you a JSON file with everything oO holds about you (GDPR
Art. 15 and 20): your profile, consents, sources (without their access tokens), the cached
tasks, every tip with its explanation and your reactions, your push subscriptions (without their
keys) and your model's weights in readable form.

## How long
- Tasks: while the source stays connected. Sessions: up to 30 days, or 7 days without use.
- Scoring logs (features, scores): 30 days. Tips and reactions: until you delete your account.
- Backups, where an operator keeps them, roll off within 30 days.

## How to delete it
**Connect → Delete my account → Delete forever.** That revokes our access at Todoist, deletes your
tasks, tips, reactions, scores, features, events, model, push subscriptions, sessions
and consents at once, and keeps only an anonymous tombstone (an id and a deletion date) so the
deletion itself is on record. oO keeps no Google or Apple token (their sign-in answer is used once),
so there is no access of oO's left to revoke there; you can also remove oO from your Google or
Apple account's list of connected apps. **Disconnect** on the same page removes a single source
and its tasks.

Questions: write to the operator of this oO instance.
"""

TERMS = f"""
# Terms of use

Version {TERMS_VERSION}. By signing in — with Google, with Apple, or with a demo account — you accept
these terms and the [privacy notice]({routes.PRIVACY}).

1. **The service.** oO reads the tasks you connect and suggests one at a time. Suggestions are
   suggestions: you stay in charge of what you do and when.
2. **Your account.** You sign in with Google or Apple (keep that account safe), or try oO with a
   demo account that has no e-mail or name. You can delete your oO account at any time from the
   Connect page; deletion is immediate and cannot be undone.
3. **Your data stays yours.** We only process it to show you tips, as the privacy notice describes.
   When you press **Done**, oO closes that task at its source on your behalf a few seconds later;
   **Undo**, shown until then, takes the reaction back and leaves the task open.
4. **Fair use.** Don't attack, overload or reverse-engineer the service, or use someone else's
   account.
5. **Availability.** We work hard to keep oO fast and available, but provide it as is, without a
   guarantee that it never fails. If a source such as Todoist is unavailable, oO shows what it last
   knew.
6. **Changes.** When these terms change, the version above changes. Consent is implicit: using oO
   after a change means you accept the new version, and oO records which version was in force
   when you next signed in. If you do not agree, delete your account.
"""


def _doc(text: str) -> rx.Component:
    return rx.box(
        rx.box(
            rx.link("← oO", href=routes.SIGNIN, color="#a3a3a3"),
            rx.markdown(text),
            max_width="44rem",
            margin="0 auto",
            padding="2rem 1.25rem",
        ),
        style=PAGE_STYLE,
    )


def terms_page() -> rx.Component:
    """The terms of use."""
    return _doc(TERMS)


def privacy_page() -> rx.Component:
    """The privacy notice."""
    return _doc(PRIVACY)
