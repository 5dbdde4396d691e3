"""The user's **Advice** switch (on by default): off means only tasks, and the empty state when none is open."""

from __future__ import annotations

from sqlmodel import Session

from oo.models import User
from oo.settings import get_settings


def effective(stored: bool | None) -> bool:
    """The switch as it applies: the user's choice, else the server default (``OO_ADVICE_DEFAULT``)."""
    return get_settings().advice_default if stored is None else bool(stored)


def is_enabled(*, session: Session, user_id: int) -> bool:
    """Whether the user wants advice mixed in."""
    user = session.get(User, user_id)
    return effective(user.advice_enabled if user else None)


def set_enabled(*, session: Session, user_id: int, enabled: bool) -> bool:
    """Turn advice on or off for the user; returns the stored value.

    Raises:
        ValueError: ``enabled`` is not a bool (a client can send anything), or no such user.
    """
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be true or false")
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise ValueError("no such user")
    user.advice_enabled = enabled
    session.add(user)
    session.commit()
    return enabled
