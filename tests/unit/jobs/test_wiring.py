"""The one wiring module: every bus subscription is live after start-up and gone after shutdown."""

from __future__ import annotations

import asyncio

import pytest

from oo.bus import TASK_COMPLETED, TIP_FEEDBACK, Event, TipFeedback
from oo.jobs import wiring
from oo.services.platform import event_bus
from oo.services.sources import actions as source_actions


def test_every_subscription_is_listed_once():
    subjects = [subject for subject, _ in wiring.SUBSCRIPTIONS]
    assert sorted(subjects) == sorted([TASK_COMPLETED, TIP_FEEDBACK])
    assert all(asyncio.iscoroutinefunction(handler) for _, handler in wiring.SUBSCRIPTIONS)


@pytest.mark.anyio
async def test_a_done_on_the_bus_kicks_the_users_close_actions(monkeypatch):
    kicked: list[int] = []
    monkeypatch.setattr(source_actions, "kick", lambda *, user_id: kicked.append(user_id))
    async with event_bus.bus_lifespan(), wiring.subscriptions():
        await event_bus.publish(Event.of(TipFeedback(tip_id="t", reaction="done", reward=1.0), user_id=5))
        await event_bus.publish(Event.of(TipFeedback(tip_id="t", reaction="snooze", reward=0.0), user_id=6))
        await event_bus.publish(Event.of(TipFeedback(tip_id="t", reaction="done", reward=1.0)))
        for _ in range(50):
            if kicked:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    assert kicked == [5]
    # After shutdown nothing is subscribed any more.
    async with event_bus.bus_lifespan():
        await event_bus.publish(Event.of(TipFeedback(tip_id="t", reaction="done", reward=1.0), user_id=7))
        await asyncio.sleep(0.05)
    assert kicked == [5]
