"""Events are written in the transaction of the change that caused them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from techcorp_server.core.changes import Change, ChangeListener, ChangeLog
from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.events.outbox import EventOutbox
from techcorp_server.products.schemas import ProductCreate
from techcorp_server.products.service import ProductCatalog
from techcorp_server.webhooks.schemas import WebhookCreate, WebhookUpdate
from techcorp_server.webhooks.service import WebhookService


class Rejecting(ChangeListener):
    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        raise RuntimeError("rejected")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def lamp() -> ProductCreate:
    return ProductCreate.model_validate(
        {"name": "Desk Lamp", "price": Decimal("19.99"), "category": "home"}
    )


async def rows(database: Database, query: str) -> list[tuple[object, ...]]:
    async with database.read() as session:
        return [tuple(row) for row in await session.execute(text(query))]


async def register(service: WebhookService, events: list[str]) -> str:
    fields = WebhookCreate.model_validate(
        {"url": "http://127.0.0.1:9/in", "events": events}
    )
    endpoint = await service.create(fields)
    webhook_id: str = endpoint["id"]
    return webhook_id


async def test_change_becomes_event_and_deliveries(database: Database) -> None:
    wakes: list[int] = []
    changes = ChangeLog(database)
    changes.subscribe(EventOutbox(on_commit=lambda: wakes.append(1)))
    webhooks = WebhookService(database, allow_private=True)
    everything = await register(webhooks, ["*"])
    products_only = await register(webhooks, ["product.created"])
    await register(webhooks, ["user.created"])
    disabled = await register(webhooks, ["*"])
    await webhooks.update(disabled, WebhookUpdate(enabled=False))
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    product = await catalog.create(lamp())

    (event,) = await rows(database, "SELECT id, type, body FROM events")
    event_id, event_type, body = event
    assert isinstance(event_id, str)
    assert event_id.startswith("evt_")
    assert event_type == "product.created"
    document = orjson.loads(body)  # type: ignore[arg-type]
    assert document["id"] == event_id
    assert document["type"] == "product.created"
    assert isinstance(document["created"], int)
    assert document["data"] == product

    deliveries = await rows(
        database, "SELECT endpoint_id, event_id, status FROM webhook_deliveries"
    )
    assert sorted(deliveries) == sorted(
        [(everything, event_id, "pending"), (products_only, event_id, "pending")]
    )
    assert wakes == [1]


async def test_rolled_back_change_leaves_no_event(database: Database) -> None:
    wakes: list[int] = []
    changes = ChangeLog(database)
    changes.subscribe(EventOutbox(on_commit=lambda: wakes.append(1)))
    changes.subscribe(Rejecting())
    await register(WebhookService(database, allow_private=True), ["*"])
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    with pytest.raises(RuntimeError, match="rejected"):
        await catalog.create(lamp())

    assert await rows(database, "SELECT id FROM products") == []
    assert await rows(database, "SELECT id FROM events") == []
    assert await rows(database, "SELECT id FROM webhook_deliveries") == []
    assert wakes == []


async def test_each_change_of_a_transaction_is_an_event(database: Database) -> None:
    changes = ChangeLog(database)
    changes.subscribe(EventOutbox())
    async with changes.transaction() as transaction:
        transaction.record("user.created", {"id": "usr_1"})
        transaction.record("user.updated", {"id": "usr_1"}, {"id": "usr_1"})

    events = await rows(database, "SELECT type FROM events ORDER BY id")
    assert events == [("user.created",), ("user.updated",)]
