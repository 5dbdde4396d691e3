"""Tip references: the server-issued name of a served tip that a reaction carries back.

Every served tip goes to the client with a reference ``<tip id><mac>``: the 32-hex tip id and
an HMAC-SHA256 (96 bits, base64url) over the user id and the tip id, keyed from the app secret.
A reaction names the tip it answers by that reference, so the server never has to trust what
a tab's saved state says was on screen: a stale or lost state save cannot move a reaction to
another tip. `verify` checks, without a database round trip, that the reference was issued by
this server to this user for this tip; `oo.services.tips.feedback.record` still checks the tip row's
owner. References are deterministic (the same tip of the same user always gets the same one),
so a push notification or an API response can carry one too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from oo.services.tips.feedback import FeedbackError, TipNotFound
from oo.settings import get_settings

MAC_BYTES = 12  # 16 base64url characters: a reference is 48, "<ref>-not_helpful" fits a 64-char key
REF_LEN = 32 + 16
REF_RE = re.compile(r"^[0-9a-f]{32}[A-Za-z0-9_-]{16}$")
_LABEL = b"oo/tip-ref/v1"


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def _mac(user_id: int, tip_id: str) -> str:
    key = _key(get_settings().secret())
    digest = hmac.new(key, f"{user_id}:{tip_id}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def issue(*, user_id: int, tip_id: str) -> str:
    """The reference of one of the user's tips, to hand to the client with the tip."""
    return tip_id + _mac(user_id, tip_id)


def in_key(key: object, reaction: str) -> str:
    """The reference inside an idempotency key the page made (``<reference>-<reaction>``), else "".

    A client that sends only the key (no ``ref``) still names its tip: the page builds the key
    from the reference it was served. Nothing is trusted here; `verify` checks what this returns.

    Examples:
        >>> ref = "0" * 32 + "A" * 16
        >>> in_key(ref + "-helpful", "helpful") == ref, in_key(ref + "-done", "helpful"), in_key("k-1", "done")
        (True, '', '')
    """
    if not isinstance(key, str) or len(key) != REF_LEN + 1 + len(reaction):
        return ""
    ref, dash, said = key[:REF_LEN], key[REF_LEN], key[REF_LEN + 1 :]
    return ref if dash == "-" and said == reaction and REF_RE.match(ref) else ""


def verify(*, user_id: int, ref: object) -> str:
    """The tip id named by ``ref``, if this server issued it to this user.

    Raises:
        FeedbackError: When ``ref`` is not shaped like a reference.
        TipNotFound: When it was not issued to this user (forged, altered or another user's).
    """
    if not isinstance(ref, str) or not REF_RE.match(ref):
        raise FeedbackError("tip reference must be the one served with the tip")
    tip_id, mac = ref[:32], ref[32:]
    if not hmac.compare_digest(mac, _mac(user_id, tip_id)):
        raise TipNotFound("no such tip")
    return tip_id
