"""A bare Socket.IO client that calls Reflex event handlers the way an attacker could.

No browser, no page: it connects to ``/_event`` with any Cookie header it likes and emits
``event`` messages naming any public handler with any payload. Used to prove that handlers
re-check the server-side session and ownership themselves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from typing import Any

import socketio

NAMESPACE = "/_event"  # Reflex's socket.io namespace (socket path /_event too)


async def _call(
    url: str, handler: str, payload: dict[str, Any], cookie: str | None, wait: float
) -> list[dict]:
    sio = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    sio.on("event", lambda data: received.append(data), namespace=NAMESPACE)
    token = uuid.uuid4().hex
    await sio.connect(
        f"{url}?token={token}",
        socketio_path="/_event",
        transports=["websocket"],
        headers={"Cookie": cookie} if cookie else {},
        namespaces=[NAMESPACE],
    )
    try:
        await sio.emit(
            "event",
            {
                "token": token,
                "name": handler,
                "payload": payload,
                "router_data": {"pathname": "/connect", "query": {}},
            },
            namespace=NAMESPACE,
        )
        await asyncio.sleep(wait)
    finally:
        await sio.disconnect()
    return received


def call_handler(
    url: str,
    handler: str,
    payload: dict[str, Any] | None = None,
    *,
    cookie: str | None = None,
    wait: float = 1.5,
) -> list[dict]:
    """Call ``handler`` (its full Reflex name) over a fresh socket; returns the deltas received.

    Runs its own event loop in a worker thread, so it also works beside Playwright's sync API.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _call(url, handler, payload or {}, cookie, wait)).result(timeout=60)


async def _session(
    url: str,
    events: list[tuple[str, dict[str, Any]]],
    cookie: str | None,
    wait: float,
    gap: float,
    token: str | None = None,
) -> list[dict]:
    sio = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    sio.on("event", lambda data: received.append(data), namespace=NAMESPACE)
    token = token or uuid.uuid4().hex
    await sio.connect(
        f"{url}?token={token}",
        socketio_path="/_event",
        transports=["websocket"],
        headers={"Cookie": cookie} if cookie else {},
        namespaces=[NAMESPACE],
    )
    try:
        for handler, payload in events:
            await sio.emit(
                "event",
                {
                    "token": token,
                    "name": handler,
                    "payload": payload,
                    "router_data": {"pathname": "/tip", "query": {}},
                },
                namespace=NAMESPACE,
            )
            if gap:
                await asyncio.sleep(gap)
        await asyncio.sleep(wait)
    finally:
        await sio.disconnect()
    return received


def call_many(
    url: str,
    events: list[tuple[str, dict[str, Any]]],
    *,
    cookie: str | None = None,
    wait: float = 2.0,
    gap: float = 0.0,
    token: str | None = None,
) -> list[dict]:
    """Send ``events`` (full handler name, payload) in order over ONE socket; returns the deltas received.

    ``gap`` seconds pass between events, and the socket stays open ``wait`` seconds after the last.
    ``token`` reuses a tab's client token (a fresh one by default).
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _session(url, events, cookie, wait, gap, token)).result(timeout=300)


async def _reacting(
    url: str, load: str, react: str, count: int, cookie: str | None, gap: float, wait: float
) -> list[dict]:
    sio = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    ref = {"value": ""}

    def on_event(data: Any) -> None:
        received.append(data)
        for delta in (data.get("delta") or {}).values() if isinstance(data, dict) else ():
            for name, value in delta.items() if isinstance(delta, dict) else ():
                if name.startswith("view_key") and isinstance(value, str) and value:
                    ref["value"] = value

    sio.on("event", on_event, namespace=NAMESPACE)
    token = uuid.uuid4().hex
    await sio.connect(
        f"{url}?token={token}",
        socketio_path="/_event",
        transports=["websocket"],
        headers={"Cookie": cookie} if cookie else {},
        namespaces=[NAMESPACE],
    )

    async def emit(name: str, payload: dict[str, Any]) -> None:
        await sio.emit(
            "event",
            {
                "token": token,
                "name": name,
                "payload": payload,
                "router_data": {"pathname": "/tip", "query": {}},
            },
            namespace=NAMESPACE,
        )

    try:
        await emit(load, {})
        await asyncio.sleep(0.5)
        for i in range(count):
            await emit(react, {"key": f"r{i}-{uuid.uuid4().hex[:8]}", "ref": ref["value"]})
            await asyncio.sleep(gap)
        await asyncio.sleep(wait)
    finally:
        await sio.disconnect()
    return received


def react_as_fast_as_deltas_allow(
    url: str,
    load: str,
    react: str,
    count: int,
    *,
    cookie: str | None = None,
    gap: float = 0.01,
    wait: float = 2.0,
) -> list[dict]:
    """Load a tip, then send ``count`` reactions, each naming the newest ``view_key`` seen in a delta.

    The scripted client a red team would write: it follows the served tip's reference, so the
    server's check of references does not stop it — only a rate limit does.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _reacting(url, load, react, count, cookie, gap, wait)).result(
            timeout=300
        )
