"""Webhook delivery shared by two server processes on one database.

Both processes' workers claim due deliveries from the same table. With both
running, each event arrives once. When one is killed mid-way, the other
claims the killed one's deliveries once their leases run out, so every event
still arrives, some perhaps twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from ..utils.api import bearer, client_token
from ..utils.backends import database_url
from ..utils.server import ServerProcess, free_port
from ..webhooks.conftest import webhook_server_env
from ..webhooks.receiver import ReceivedRequest, Receiver
from ..webhooks.test_restart import create_products, kill_server_and_workers

EVENTS = 1000
SETTINGS = {
    # Few sends at once, each with time to spare on a busy machine: a send
    # that times out is sent again, which would blur "exactly once".
    "webhook_concurrency": "8",
    "webhook_timeout_seconds": "5",
    # Short, so the survivor takes over a killed process's claims within
    # the test. A lease must outlast the timeout.
    "webhook_lease_seconds": "6",
}

SETTLE_SECONDS = 1.5
"""How long a test waits after the last event arrives for a second copy."""


def start_processes(folder: Path, count: int) -> list[ServerProcess]:
    env = {
        **webhook_server_env(**SETTINGS),
        "TECHCORP_DATABASE_URL": database_url(folder),
    }
    processes = []
    for number in range(count):
        process_folder = folder / f"process-{number}"
        process_folder.mkdir()
        process = ServerProcess(process_folder, env)
        process.start()
        processes.append(process)
    return processes


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def create_events(processes: list[ServerProcess], url: str) -> set[str]:
    """Register `url` for new products, then create them through every process."""
    product_ids: set[str] = set()
    async with httpx.AsyncClient(base_url=processes[0].base_url, timeout=30) as api:
        token = await client_token(api)
        registered = await api.post(
            "/v2/webhooks",
            json={"url": url, "events": ["product.created"]},
            headers=bearer(token),
        )
        assert registered.status_code == 201, registered.text
    share = EVENTS // len(processes)
    for process in processes:
        async with httpx.AsyncClient(base_url=process.base_url, timeout=30) as api:
            product_ids |= await create_products(api, token, share)
    return product_ids


def delivered_products(receiver: Receiver) -> list[str]:
    return [json.loads(request.body)["data"]["id"] for request in receiver.requests]


def all_arrived(count: int) -> Callable[[list[ReceivedRequest]], bool]:
    return lambda requests: len({request.event_id for request in requests}) >= count


async def test_two_workers_deliver_each_event_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    processes = start_processes(tmp_path, 2)
    try:
        product_ids = await create_events(processes, receiver.url)
        await receiver.wait_for(all_arrived(EVENTS), seconds=90)
        await asyncio.sleep(SETTLE_SECONDS)
    finally:
        for process in processes:
            process.stop()

    delivered = delivered_products(receiver)
    assert set(delivered) == product_ids
    assert len(delivered) == EVENTS


async def test_survivor_delivers_killed_workers_claims(tmp_path: Path) -> None:
    # Each response takes a while, so deliveries are still in flight at the kill.
    receiver = Receiver(delay=0.02)
    port = free_port()
    processes = start_processes(tmp_path, 2)
    killed, survivor = processes
    try:
        # The receiver is down while the events are created: attempts fail
        # and wait for their retries, so the deliveries begin together.
        product_ids = await create_events(processes, f"http://127.0.0.1:{port}/hooks")
        await receiver.start(port)
        await receiver.wait_for(lambda requests: len(requests) >= EVENTS // 4, 60)
        kill_server_and_workers(killed)
        arrived_before_kill = len(receiver.requests)
        await receiver.wait_for(all_arrived(EVENTS), seconds=90)
    finally:
        await receiver.stop()
        survivor.stop()

    assert arrived_before_kill < EVENTS
    assert set(delivered_products(receiver)) == product_ids
