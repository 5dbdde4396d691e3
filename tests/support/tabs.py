"""A signed-in /tip tab's state, written through any Reflex state manager (disk or Redis)."""

from __future__ import annotations

from typing import Any

from reflex.istate.data import RouterData
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State
from reflex_base import constants

from oo.services.accounts.sessions import CurrentUser
from oo.state.tip import TipState


async def fill_tab(manager: Any, token: str, user_id: int, text: str) -> None:
    """Tab ``token`` of user ``user_id`` (named "Name of <id>") showing the tip ``text``."""
    async with manager.modify_state(BaseStateToken(ident=token, cls=State)) as root:
        root.router = RouterData.from_router_data(
            {constants.RouteVar.CLIENT_TOKEN: token, "pathname": "/tip"}
        )
        tip = await root.get_state(TipState)
        tip._remember(
            CurrentUser(
                id=user_id, role="user", name=f"Name of {user_id}", email="", is_demo=True, timezone="UTC"
            )
        )
        tip.text = text
