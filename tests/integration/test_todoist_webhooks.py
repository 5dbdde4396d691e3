"""POST /webhooks/todoist with deliveries signed by the fake: signature, malformed, replay, rewards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import Session

from oo import db
from oo.bus import TASK_COMPLETED
from oo.http.app import create_api
from oo.models import Task, TipView, WebhookDelivery, utcnow
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from tests.integration.todoist_env import CLIENT_SECRET, configure, connect, events_of, rows

pytestmark = pytest.mark.anyio
URL = "http://testserver/webhooks/todoist"


@pytest.fixture
async def http(app_env, make_tables, monkeypatch, server) -> AsyncIterator[httpx.AsyncClient]:
    configure(monkeypatch, server)
    make_tables()
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await todoist.close_http()


async def settle(user_id: int) -> None:
    """Wait for the background refresh a delivery started."""
    for _ in range(100):
        task = todoist_sync._inflight.get(user_id)
        if task is None:
            return
        await asyncio.wait({task}, timeout=5)


def show_as_tip(user_id: int, external_id: str) -> int:
    [task] = rows(Task, Task.user_id == user_id, Task.external_id == external_id)
    with Session(db.get_engine()) as session:
        session.add(
            TipView(
                id=f"tip-{external_id}"[:32],
                user_id=user_id,
                task_id=task.id,
                source="todoist",
                external_id=external_id,
                policy="random",
                served_at=utcnow(),
            )
        )
        session.commit()
    return task.id


async def test_completing_a_shown_tip_in_todoist_is_a_delayed_reward(http, server):
    user_id, token = connect(server, tasks=3)
    await todoist_sync.sync_user(user_id=user_id)
    target = server.fake.active_ids(token)[0]
    task_id = show_as_tip(user_id, target)
    server.fake.complete_externally(token, target)
    delivery = await server.fake.send_webhook(URL, "item:completed", target, http=http)
    assert delivery.statuses == [200]
    await settle(user_id)
    [event] = events_of(TASK_COMPLETED, user_id)
    assert json.loads(event.data) == {
        "source": "todoist",
        "task_id": str(task_id),
        "external": True,
        "delivery_id": delivery.delivery_id,
    }
    assert target not in {t.external_id for t in rows(Task, Task.user_id == user_id)}  # cache refreshed

    assert await server.fake.redeliver(delivery, http=http) == 200  # Todoist retries: a no-op
    assert len(events_of(TASK_COMPLETED, user_id)) == 1
    assert len(rows(WebhookDelivery, WebhookDelivery.delivery_id == delivery.delivery_id)) == 1


async def test_a_recurring_completion_arrives_as_an_update(http, server):
    user_id, token = connect(server)
    task = server.fake.add_task(
        token, content="Stretch", due_date="2030-01-01", due_string="every day", is_recurring=True
    )
    await todoist_sync.sync_user(user_id=user_id)
    show_as_tip(user_id, task["id"])
    server.fake.complete_externally(token, task["id"])
    extra = {"update_intent": "item_completed", "old_item": task}
    await server.fake.send_webhook(URL, "item:updated", task["id"], extra=extra, http=http)
    await settle(user_id)
    assert len(events_of(TASK_COMPLETED, user_id)) == 1
    [cached] = rows(Task, Task.user_id == user_id)
    assert cached.due_date.isoformat() == "2030-01-02"  # the next occurrence


async def test_other_item_events_refresh_the_cache_without_a_reward(http, server):
    user_id, token = connect(server)
    await todoist_sync.sync_user(user_id=user_id)
    added = server.fake.add_task(token, content="Call the plumber")
    assert (await server.fake.send_webhook(URL, "item:added", added["id"], http=http)).statuses == [200]
    await settle(user_id)
    assert [t.content for t in rows(Task, Task.user_id == user_id)] == ["Call the plumber"]
    server.fake.complete_externally(token, added["id"])
    await server.fake.send_webhook(URL, "item:completed", added["id"], http=http)  # never shown as a tip
    await settle(user_id)
    assert events_of(TASK_COMPLETED, user_id) == [] and rows(Task, Task.user_id == user_id) == []


async def test_bad_or_missing_signatures_are_refused(http, server):
    _user_id, token = connect(server, tasks=1)
    task = server.fake.active_ids(token)[0]
    forged = await server.fake.send_webhook(URL, "item:completed", task, http=http, secret="not-the-secret")
    assert forged.statuses == [401]
    good = await server.fake.send_webhook(URL, "item:added", task, http=http)
    flipped = good.body.replace(b'"item:added"', b'"item:deleted"')
    headers = {"X-Todoist-Hmac-SHA256": good.signature, "X-Todoist-Delivery-ID": "d-flip"}
    assert (await http.post(URL, content=flipped, headers=headers)).status_code == 401
    reserialised = json.dumps(json.loads(good.body), indent=1).encode()
    assert (await http.post(URL, content=reserialised, headers=headers)).status_code == 401
    assert (await http.post(URL, content=good.body)).status_code == 401
    headers["X-Todoist-Hmac-SHA256"] = "***not base64***"
    assert (await http.post(URL, content=good.body, headers=headers)).status_code == 401
    assert rows(WebhookDelivery, WebhookDelivery.delivery_id.in_(["d-flip", forged.delivery_id])) == []


async def test_malformed_bodies_with_a_valid_signature_are_400(http, server):
    from oo.integrations.todoist.webhooks import compute_signature

    for body in (b"not json", b"[]", b'{"event_name": "item:added"}', b'{"event_name": "x", "user_id": "1"}'):
        headers = {
            "X-Todoist-Hmac-SHA256": compute_signature(body, CLIENT_SECRET),
            "X-Todoist-Delivery-ID": "m",
        }
        assert (await http.post(URL, content=body, headers=headers)).status_code == 400
    assert rows(WebhookDelivery) == []  # a malformed body is not recorded, so nothing is lost


async def test_unknown_users_and_events_are_acknowledged(http, server):
    foreign = {"id": "T9", "user_id": "987654", "content": "Not ours"}
    assert (await server.fake.send_webhook(URL, "item:added", foreign, http=http)).statuses == [200]
    note = {"id": "N1", "user_id": "987654", "content": "a comment"}
    assert (await server.fake.send_webhook(URL, "note:added", note, http=http)).statuses == [200]


async def test_oversized_bodies_are_refused(http, server):
    resp = await http.post(URL, content=b"x" * (1024 * 1024 + 1), headers={"X-Todoist-Hmac-SHA256": "AAAA"})
    assert resp.status_code == 413


async def test_a_todoist_completion_of_a_served_tip_changes_that_users_model(http, server):
    """End to end: a real served tip, the task completed in Todoist, the signed webhook, the app's own
    bus subscriptions (oo/jobs/wiring.py): the delayed Done reaches the learner of that user only."""
    from oo.jobs import wiring
    from oo.models import ModelState, TipFeedback
    from oo.recommender import build_policy, loads
    from oo.services.platform import event_bus
    from oo.services.tips.recommend import recommend

    user_id, token = connect(server, tasks=3)
    other_id, _ = connect(server, tasks=3)
    await todoist_sync.sync_user(user_id=user_id)
    await todoist_sync.sync_user(user_id=other_id)
    with Session(db.get_engine()) as session:
        rec = recommend(session=session, user_id=user_id)
        recommend(session=session, user_id=other_id)
    assert rows(ModelState, ModelState.user_id == user_id) == []  # nothing learned yet
    target = rec.external_id
    async with wiring.subscriptions():
        server.fake.complete_externally(token, target)
        delivery = await server.fake.send_webhook(URL, "item:completed", target, http=http)
        assert delivery.statuses == [200]
        await settle(user_id)
        await event_bus.bus().drain()
    [fb] = rows(TipFeedback, TipFeedback.tip_id == rec.tip_id)
    assert (fb.origin, fb.reaction, fb.reward) == ("webhook", "done", 1.0) and fb.applied_at is not None
    models = {m.policy_key: loads(m.data) for m in rows(ModelState, ModelState.user_id == user_id)}
    served = f"{rec.policy}@{rec.policy_version}"
    assert models[served].n_updates == 1, "the served policy learned the delayed Done"
    x = json.loads(rows(TipView, TipView.id == rec.tip_id)[0].features)[models[served].encoder]
    fresh = build_policy(rec.policy, rec.policy_version, seed=0)
    assert models[served].mean_and_std(x)[0] > fresh.mean_and_std(x)[0], "the Done raised its expected reward"
    assert rows(ModelState, ModelState.user_id == other_id) == [], "another user's model is untouched"
