"""Retention: old events and finished deliveries are deleted in batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, table, text

from techcorp_server.core.changes import ChangeLog
from techcorp_server.core.db import Database, utc_now
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.events.outbox import EventOutbox
from techcorp_server.webhooks import retention
from techcorp_server.webhooks.retention import purge_before
from techcorp_server.webhooks.schemas import WebhookCreate
from techcorp_server.webhooks.service import WebhookService
from techcorp_server.webhooks.worker import DeliveryWorker

from ..conftest import app_settings
from .conftest import FAST_RETRIES


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}")
    await upgrade_to_head(database)
    yield database
    await database.dispose()


async def subscribe_to_users(database: Database) -> None:
    service = WebhookService(database, allow_private=True)
    fields = WebhookCreate.model_validate(
        {"url": "http://127.0.0.1:9/hook", "events": ["user.created"]}
    )
    await service.create(fields)


async def record(database: Database, event_type: str, count: int) -> None:
    changes = ChangeLog(database)
    changes.subscribe(EventOutbox())
    async with changes.transaction() as transaction:
        for number in range(count):
            transaction.record(event_type, {"id": f"usr_{number}"})


async def finish_deliveries(database: Database, statuses: list[str]) -> None:
    """Set the deliveries' statuses in id order, with two attempts each."""
    async with database.transaction() as session:
        ids = list(
            await session.scalars(text("SELECT id FROM webhook_deliveries ORDER BY id"))
        )
        for delivery_id, status in zip(ids, statuses, strict=True):
            await session.execute(
                text("UPDATE webhook_deliveries SET status = :status WHERE id = :id"),
                {"status": status, "id": delivery_id},
            )
            for number in (1, 2):
                await session.execute(
                    text(
                        "INSERT INTO webhook_attempts (delivery_id, number, "
                        "duration_ms, attempted_at) VALUES (:id, :number, 5, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"id": delivery_id, "number": number},
                )


async def count_rows(database: Database, name: str) -> int:
    async with database.read() as session:
        count = await session.scalar(select(func.count()).select_from(table(name)))
        return count or 0


async def test_purge_keeps_pending_and_recent(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "RETENTION_BATCH_SIZE", 2)
    await subscribe_to_users(database)
    await record(database, "user.created", 5)
    await record(database, "product.created", 3)
    await finish_deliveries(
        database, ["succeeded", "succeeded", "failed", "failed", "pending"]
    )
    # Ids carry their creation time in milliseconds.
    await asyncio.sleep(0.01)
    cutoff = utc_now()
    await asyncio.sleep(0.01)
    await record(database, "user.created", 2)
    await finish_deliveries(
        database,
        [
            "succeeded",
            "succeeded",
            "failed",
            "failed",
            "pending",
            "succeeded",
            "failed",
        ],
    )

    deleted = await purge_before(database, cutoff)

    assert deleted == (4, 7)
    assert await count_rows(database, "webhook_deliveries") == 3
    assert await count_rows(database, "events") == 3
    # The second round added attempts to every delivery again, so the old
    # pending one has four and the two recent ones two each.
    assert await count_rows(database, "webhook_attempts") == 8


async def test_purge_spares_event_with_pending_delivery(database: Database) -> None:
    await subscribe_to_users(database)
    await record(database, "user.created", 1)
    await asyncio.sleep(0.01)

    deleted = await purge_before(database, utc_now())

    assert deleted == (0, 0)
    assert await count_rows(database, "events") == 1
    assert await count_rows(database, "webhook_deliveries") == 1


async def test_worker_purges_after_retention_setting(
    tmp_path: Path, database: Database
) -> None:
    await subscribe_to_users(database)
    await record(database, "user.created", 3)
    await finish_deliveries(database, ["succeeded", "failed", "succeeded"])
    long_retention = DeliveryWorker(
        database,
        app_settings(tmp_path, **FAST_RETRIES, webhook_retention_seconds=3600),
    )
    short_retention = DeliveryWorker(
        database,
        app_settings(tmp_path, **FAST_RETRIES, webhook_retention_seconds=0.01),
    )
    await asyncio.sleep(0.05)

    await long_retention.purge_old()
    assert await count_rows(database, "events") == 3
    await short_retention.purge_old()

    assert await count_rows(database, "events") == 0
    assert await count_rows(database, "webhook_deliveries") == 0
    assert await count_rows(database, "webhook_attempts") == 0
