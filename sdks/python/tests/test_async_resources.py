"""The async client's resources against a real server."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from techcorp import AsyncTechCorp, NotFoundError

UNREACHABLE_RECEIVER = "http://127.0.0.1:9/hooks"
PASSWORD = "SdkTestPassword123!"


async def test_users(async_client: AsyncTechCorp) -> None:
    email = f"async-{uuid.uuid4().hex[:8]}@example.com"
    user = await async_client.users.create(
        email=email, password=PASSWORD, role="member"
    )

    assert (await async_client.users.get(user.id)).email == email
    assert (await async_client.users.update(user.id, role="admin")).role == "admin"
    assert user.id in {u.id async for u in async_client.users.list(limit=50)}
    await async_client.users.delete(user.id)
    with pytest.raises(NotFoundError):
        await async_client.users.get(user.id)


async def test_products_search_and_payments(async_client: AsyncTechCorp) -> None:
    word = uuid.uuid4().hex[:8]
    product = await async_client.products.create(
        name=f"Kettle {word}", price=Decimal("30.00"), category="kitchen"
    )
    await async_client.products.replace(
        product.id, name=f"Kettle {word}", price=32, category="kitchen"
    )
    updated = await async_client.products.update(product.id, price=Decimal("31.5"))
    assert updated.price == Decimal("31.50")
    assert (await async_client.products.get(product.id)).price == Decimal("31.50")

    hits = await async_client.search.query(f"kettle {word}", type="product")
    assert hits.data[0].item.id == product.id

    payment = await async_client.payments.create(
        product_id=product.id, payment_method="pm_card_amex"
    )
    assert (await async_client.payments.get(payment.id)).amount == Decimal("31.50")
    assert payment.id in {p.id async for p in async_client.payments.list(limit=100)}

    await async_client.products.delete(product.id)


async def test_webhooks_clients_and_system(async_client: AsyncTechCorp) -> None:
    webhook = await async_client.webhooks.create(url=UNREACHABLE_RECEIVER, events=["*"])
    await async_client.webhooks.update(webhook.id, description="async")
    assert (await async_client.webhooks.get(webhook.id)).description == "async"
    rotated = await async_client.webhooks.rotate_secret(
        webhook.id, secret="whsec_" + "a" * 32
    )
    assert rotated.secret == "whsec_" + "a" * 32
    delivery = await async_client.webhooks.send_test(webhook.id)
    assert (await async_client.webhooks.deliveries.get(webhook.id, delivery.id)).id
    ids = {d.id async for d in async_client.webhooks.deliveries.list(webhook.id)}
    assert delivery.id in ids
    await async_client.webhooks.deliveries.redeliver(webhook.id, delivery.id)
    assert webhook.id in {w.id async for w in async_client.webhooks.list()}
    await async_client.webhooks.delete(webhook.id)

    created = await async_client.clients.create(name="async")
    assert created.id in {c.id async for c in async_client.clients.list(limit=100)}
    await async_client.clients.delete(created.id)

    assert (await async_client.system.health()).status == "ok"
    assert (await async_client.system.readiness()).status == "ok"
    status = await async_client.system.set_status(status="degraded", message="Slow")
    assert (await async_client.system.status()).status == status.status == "degraded"
    await async_client.system.set_status(status="operational", message="Fine")
    assert (await async_client.auth.token()).token_type == "Bearer"
