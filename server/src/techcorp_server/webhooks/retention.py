"""Deleting old events, finished deliveries and their attempts.

A delivery is old once it was created more than `webhook_retention_seconds`
ago and is no longer pending. An event is old once it is that old and no
delivery of it remains. Ids sort by creation time, so the age test is a
range on the primary key and needs no index of its own. Rows go in batches
of `RETENTION_BATCH_SIZE`, one transaction each, so a large backlog never
holds the database's write lock for long.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import delete, exists, select

from ..core.db import Database
from ..core.ids import first_id_at
from ..events.models import Event
from .models import WebhookAttempt, WebhookDelivery

RETENTION_BATCH_SIZE = 500

events = Event.metadata.tables["events"]
deliveries = WebhookDelivery.metadata.tables["webhook_deliveries"]
attempts = WebhookAttempt.metadata.tables["webhook_attempts"]


async def purge_before(database: Database, cutoff: datetime) -> tuple[int, int]:
    """Delete deliveries and events created before `cutoff`, batch by batch.

    Returns how many deliveries and how many events were deleted.
    """
    deleted_deliveries = 0
    while count := await _purge_delivery_batch(database, cutoff):
        deleted_deliveries += count
        await asyncio.sleep(0)
    deleted_events = 0
    while count := await _purge_event_batch(database, cutoff):
        deleted_events += count
        await asyncio.sleep(0)
    return deleted_deliveries, deleted_events


async def _purge_delivery_batch(database: Database, cutoff: datetime) -> int:
    old = (
        select(deliveries.c.id)
        .where(
            deliveries.c.id < first_id_at("dlv", cutoff),
            deliveries.c.status != "pending",
        )
        .order_by(deliveries.c.id)
        .limit(RETENTION_BATCH_SIZE)
    )
    async with database.transaction() as session:
        ids = list(await session.scalars(old))
        if ids:
            await session.execute(
                delete(attempts).where(attempts.c.delivery_id.in_(ids))
            )
            await session.execute(delete(deliveries).where(deliveries.c.id.in_(ids)))
    return len(ids)


async def _purge_event_batch(database: Database, cutoff: datetime) -> int:
    old = (
        select(events.c.id)
        .where(
            events.c.id < first_id_at("evt", cutoff),
            ~exists().where(deliveries.c.event_id == events.c.id),
        )
        .order_by(events.c.id)
        .limit(RETENTION_BATCH_SIZE)
    )
    async with database.transaction() as session:
        ids = list(await session.scalars(old))
        if ids:
            await session.execute(delete(events).where(events.c.id.in_(ids)))
    return len(ids)
