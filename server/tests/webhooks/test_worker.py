"""The delivery worker: leases, sharing work, retries, giving up and disabling."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from techcorp_server.core.changes import ChangeLog
from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.events.outbox import EventOutbox
from techcorp_server.webhooks.retries import RetryPolicy
from techcorp_server.webhooks.schemas import WebhookCreate
from techcorp_server.webhooks.service import WebhookService
from techcorp_server.webhooks.worker import DeliveryWorker

from ..conftest import app_settings
from .conftest import FAST_RETRIES
from .receiver import Receiver, always

_users = itertools.count()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}")
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def worker_for(tmp_path: Path, database: Database, **overrides: Any) -> DeliveryWorker:
    settings = app_settings(tmp_path, **{**FAST_RETRIES, **overrides})
    return DeliveryWorker(database, settings)


async def register(database: Database, url: str) -> str:
    service = WebhookService(database, allow_private=True)
    fields = WebhookCreate.model_validate({"url": url, "events": ["*"]})
    webhook_id: str = (await service.create(fields))["id"]
    return webhook_id


async def record_events(database: Database, count: int) -> None:
    changes = ChangeLog(database)
    changes.subscribe(EventOutbox())
    async with changes.transaction() as transaction:
        for _ in range(count):
            transaction.record("user.created", {"id": f"usr_{next(_users)}"})


async def statuses(database: Database) -> list[str]:
    async with database.read() as session:
        result = await session.execute(text("SELECT status FROM webhook_deliveries"))
        return [row[0] for row in result]


async def test_two_workers_share_without_duplicates(
    tmp_path: Path, database: Database
) -> None:
    receiver = Receiver()
    await receiver.start()
    await register(database, receiver.url)
    await record_events(database, 300)
    # A second engine on the same file stands for a second server process.
    other = Database(database.url)
    workers = [
        worker_for(tmp_path, database, webhook_concurrency=16),
        worker_for(tmp_path, other, webhook_concurrency=16),
    ]
    try:
        for worker in workers:
            await worker.start()
        await receiver.wait_for(lambda requests: len(requests) >= 300, seconds=30)
        await asyncio.sleep(0.5)
    finally:
        for worker in workers:
            await worker.stop()
        await receiver.stop()
        await other.dispose()

    event_ids = [request.event_id for request in receiver.requests]
    assert len(event_ids) == 300
    assert len(set(event_ids)) == 300
    assert set(await statuses(database)) == {"succeeded"}


async def test_expired_lease_is_claimed_again(
    tmp_path: Path, database: Database
) -> None:
    receiver = Receiver()
    await receiver.start()
    await register(database, receiver.url)
    await record_events(database, 5)
    crashed = worker_for(
        tmp_path, database, webhook_lease_seconds=1, webhook_timeout_seconds=0.5
    )
    # A worker that claims and then dies never sends or releases.
    claimed = await crashed._claim(10)
    assert len(claimed) == 5

    survivor = worker_for(tmp_path, database)
    await survivor.start()
    try:
        assert await survivor._claim(10) == []
        requests = await receiver.wait_for(lambda r: len(r) == 5, seconds=10)
    finally:
        await survivor.stop()
        await receiver.stop()

    assert {r.headers["x-delivery-attempt"] for r in requests} == {"2"}


async def test_endpoint_failing_too_long_disabled(
    tmp_path: Path, database: Database
) -> None:
    receiver = Receiver(always(500))
    await receiver.start()
    webhook_id = await register(database, receiver.url)
    await record_events(database, 1)
    worker = worker_for(tmp_path, database, webhook_disable_after_seconds=0.5)
    await worker.start()
    try:
        await receiver.wait_for(lambda requests: len(requests) >= 2, seconds=10)
        await asyncio.sleep(1.5)
    finally:
        await worker.stop()
        await receiver.stop()

    async with database.read() as session:
        row = (
            await session.execute(
                text(
                    "SELECT enabled, disabled_reason FROM webhook_endpoints "
                    "WHERE id = :id"
                ),
                {"id": webhook_id},
            )
        ).one()
    assert not row.enabled
    assert "failed" in row.disabled_reason
    assert await statuses(database) == ["pending"]


async def test_delivery_given_up_after_window(
    tmp_path: Path, database: Database
) -> None:
    receiver = Receiver(always(502))
    await receiver.start()
    await register(database, receiver.url)
    await record_events(database, 1)
    worker = worker_for(tmp_path, database, webhook_retry_window_seconds=0.5)
    await worker.start()
    try:
        for _ in range(50):
            if await statuses(database) == ["failed"]:
                break
            await asyncio.sleep(0.1)
    finally:
        await worker.stop()
        await receiver.stop()

    assert await statuses(database) == ["failed"]
    assert 1 <= len(receiver.requests) <= 4


def test_backoff_doubles_with_jitter_and_cap() -> None:
    policy = RetryPolicy(
        base_seconds=5, max_delay_seconds=3600, window_seconds=3 * 86400
    )
    for attempt, expected in [
        (1, 5),
        (2, 10),
        (3, 20),
        (10, 2560),
        (11, 3600),
        (40, 3600),
    ]:
        delays = [policy.delay_seconds(attempt) for _ in range(200)]
        assert min(delays) >= expected * 0.8
        assert max(delays) <= expected * 1.2
        assert max(delays) - min(delays) > 0


def test_default_schedule_spans_about_three_days() -> None:
    policy = RetryPolicy(
        base_seconds=5, max_delay_seconds=6 * 3600, window_seconds=3 * 86400
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)
    now, attempt = created, 1
    while (when := policy.next_attempt_at(attempt, created, now)) is not None:
        now, attempt = when, attempt + 1
    assert 15 <= attempt <= 30
    assert timedelta(days=2) < now - created <= timedelta(days=3)


def test_lease_must_outlast_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    with pytest.raises(ValueError, match="LEASE_SECONDS must be longer"):
        worker_for(
            tmp_path, database, webhook_lease_seconds=5, webhook_timeout_seconds=5
        )
