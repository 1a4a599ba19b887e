"""`client.events.stream()`: the stream opened with the client's own token."""

from __future__ import annotations

from decimal import Decimal

from techcorp import AsyncTechCorp, TechCorp
from techcorp.events import MarketUpdate, SystemStatus

from .events_fixtures import Collector, next_of_type


def test_client_stream_yields_market_update(client: TechCorp) -> None:
    product = client.products.create(
        name="Streamed Lamp", price=Decimal("10.00"), category="home"
    )
    collector = Collector(
        client.events.stream(events=["market_update"], product_ids=[product.id])
    )
    collector.next_of_type(SystemStatus)

    client.products.update(product.id, price=Decimal("11.50"))
    update = collector.next_of_type(MarketUpdate)

    assert update.data.product_id == product.id
    assert update.data.price == 11.5
    collector.close()


async def test_async_client_stream_yields_market_update(
    async_client: AsyncTechCorp,
) -> None:
    product = await async_client.products.create(
        name="Streamed Desk", price=Decimal("80.00"), category="office"
    )
    stream = async_client.events.stream(
        events=["market_update"], product_ids=[product.id]
    )
    async with stream:
        await next_of_type(stream, SystemStatus)

        await async_client.products.update(product.id, price=Decimal("75.00"))
        update = await next_of_type(stream, MarketUpdate)

    assert update.data.product_id == product.id
    assert update.data.previous_price == 80.0
