"""Pending deliveries survive a killed server: every event arrives after a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx

from ..utils.api import bearer, client_token
from ..utils.server import ServerProcess, free_port
from .conftest import webhook_server_env
from .receiver import Receiver

EVENTS = 1000


def kill_server_and_workers(server: ServerProcess) -> None:
    """SIGKILL the server and its worker processes, as a crash would.

    `serve` runs the app in child processes, which a SIGKILL of the parent
    alone would leave running.
    """
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children, "the server has no worker process"
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{child}").exists() for child in children):
        assert time.monotonic() < deadline, "a worker survived SIGKILL"
        time.sleep(0.05)


async def create_products(api: httpx.AsyncClient, token: str, count: int) -> set[str]:
    ids: set[str] = set()
    gate = asyncio.Semaphore(16)

    async def create(number: int) -> None:
        async with gate:
            response = await api.post(
                "/v2/products",
                json={"name": f"Crash Lamp {number}", "price": 1, "category": "crash"},
                headers=bearer(token),
            )
        assert response.status_code == 201, response.text
        ids.add(response.json()["id"])

    await asyncio.gather(*(create(number) for number in range(count)))
    return ids


async def test_events_survive_sigkill(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, webhook_server_env(webhook_lease_seconds="3"))
    server.start()
    receiver = Receiver()
    port = free_port()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as api:
            token = await client_token(api)
            registered = await api.post(
                "/v2/webhooks",
                json={
                    "url": f"http://127.0.0.1:{port}/hooks",
                    "events": ["product.created"],
                },
                headers=bearer(token),
            )
            assert registered.status_code == 201, registered.text
            product_ids = await create_products(api, token, EVENTS)
        # The receiver is down: attempts fail and wait for their retries.
        await asyncio.sleep(0.5)
        kill_server_and_workers(server)

        await receiver.start(port)
        server.start()
        await receiver.wait_for(
            lambda requests: len({r.event_id for r in requests}) >= EVENTS, seconds=90
        )
    finally:
        await receiver.stop()
        server.stop()

    delivered = {json.loads(r.body)["data"]["id"] for r in receiver.requests}
    assert delivered == product_ids
    assert len({r.event_id for r in receiver.requests}) == EVENTS
    # Attempts made while the receiver was down are counted before the kill.
    assert any(r.headers["x-delivery-attempt"] != "1" for r in receiver.requests)
