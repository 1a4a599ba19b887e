"""The event outbox: events and their deliveries, written with the change.

`EventOutbox` is a change listener. Inside each write transaction it turns
every recorded change into an event row and adds one delivery row for each
enabled webhook endpoint subscribed to that event type. Fanning out here,
rather than in the worker, fixes the set of endpoints at the moment of the
change (an endpoint added later does not receive older events), and leaves
the worker one simple query: deliveries that are due. When the transaction
commits, the outbox wakes the delivery worker, so an event leaves within
milliseconds instead of at the next poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.changes import Change, ChangeListener
from ..core.db import utc_now
from ..core.ids import new_id
from ..webhooks.models import WebhookDelivery, WebhookEndpoint
from .models import Event

EVENT_TYPES = (
    "user.created",
    "user.updated",
    "user.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "payment.succeeded",
    "payment.failed",
)
"""The event types an endpoint can subscribe to."""

ALL_EVENTS = "*"
TEST_EVENT_TYPE = "webhook.test"
"""Sent by `POST /v2/webhooks/{id}/test` to that endpoint only."""

events = Event.metadata.tables["events"]
deliveries = WebhookDelivery.metadata.tables["webhook_deliveries"]
endpoints = WebhookEndpoint.metadata.tables["webhook_endpoints"]


def event_body(event_id: str, type: str, created: datetime, data: Any) -> bytes:
    """Render the JSON body that every delivery of an event sends."""
    document = {
        "id": event_id,
        "type": type,
        "created": int(created.timestamp()),
        "data": data,
    }
    return orjson.dumps(document)


@lru_cache(maxsize=1024)
def subscribed_types(events_json: str) -> frozenset[str]:
    """Parse an endpoint's stored `events` column."""
    return frozenset(orjson.loads(events_json))


def is_subscribed(events_json: str, event_type: str) -> bool:
    subscribed = subscribed_types(events_json)
    return ALL_EVENTS in subscribed or event_type in subscribed


def delivery_row(endpoint_id: str, event_id: str, event_type: str) -> dict[str, Any]:
    now = utc_now()
    return {
        "id": new_id("dlv"),
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": event_type,
        "status": "pending",
        "attempt_count": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def write_event(
    session: AsyncSession,
    type: str,
    data: Mapping[str, Any],
    endpoint_ids: Iterable[str],
) -> tuple[str, list[str]]:
    """Insert one event with a delivery to each endpoint; return their ids."""
    event_id = new_id("evt")
    now = utc_now()
    body = event_body(event_id, type, now, data)
    await session.execute(
        insert(events).values(id=event_id, type=type, body=body, created_at=now)
    )
    rows = [delivery_row(endpoint_id, event_id, type) for endpoint_id in endpoint_ids]
    if rows:
        await session.execute(insert(deliveries), rows)
    return event_id, [row["id"] for row in rows]


class EventOutbox(ChangeListener):
    """Record each change as an event, fanned out to the subscribed endpoints.

    The delivery worker deletes events and finished deliveries after
    `webhook_retention_seconds` (see `webhooks.retention`).
    """

    def __init__(self, on_commit: Callable[[], None] | None = None) -> None:
        self.on_commit = on_commit

    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        query = select(endpoints.c.id, endpoints.c.events).where(endpoints.c.enabled)
        subscribers = (await session.execute(query)).all()

        now = utc_now()
        event_rows: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        for change in changes:
            event_id = new_id("evt")
            body = event_body(event_id, change.type, now, change.data)
            event_rows.append(
                {"id": event_id, "type": change.type, "body": body, "created_at": now}
            )
            delivery_rows += [
                delivery_row(endpoint_id, event_id, change.type)
                for endpoint_id, events_json in subscribers
                if is_subscribed(events_json, change.type)
            ]

        await session.execute(insert(events), event_rows)
        if delivery_rows:
            await session.execute(insert(deliveries), delivery_rows)

    def committed(self, changes: Sequence[Change]) -> None:
        if self.on_commit is not None:
            self.on_commit()
