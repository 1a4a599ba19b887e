"""Every resource of the sync client against a real server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from techcorp import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    TechCorp,
)

from .server import LocalServer

# Nothing listens here, so deliveries fail; the delivery records still exist.
UNREACHABLE_RECEIVER = "http://127.0.0.1:9/hooks"
PASSWORD = "SdkTestPassword123!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_auth_token_for_the_client_credentials(client: TechCorp) -> None:
    token = client.auth.token()

    assert token.token_type == "Bearer"
    assert token.access_token.startswith("eyJ")
    assert token.expires_in > 60
    assert token.access_token not in repr(token)


def test_auth_token_for_a_user_password(client: TechCorp) -> None:
    email = f"{unique('login')}@example.com"
    client.users.create(email=email, password=PASSWORD, role="member")

    token = client.auth.token(email=email, password=PASSWORD)

    assert token.token_type == "Bearer"


def test_users_create_get_update_list_delete(client: TechCorp) -> None:
    email = f"{unique('user')}@example.com"
    user = client.users.create(email=email, password=PASSWORD, role="member")
    assert user.id.startswith("usr_")
    assert (user.email, user.role) == (email, "member")

    assert client.users.get(user.id) == user
    promoted = client.users.update(user.id, role="admin")
    assert (promoted.email, promoted.role) == (email, "admin")
    page = client.users.list(limit=100)
    assert user.id in {listed.id for listed in page.data}

    client.users.delete(user.id)
    with pytest.raises(NotFoundError):
        client.users.get(user.id)


def test_products_create_get_replace_update_list_delete(client: TechCorp) -> None:
    category = unique("cat")
    product = client.products.create(
        name="Desk Lamp", price=Decimal("19.99"), category=category
    )
    assert product.id.startswith("prd_")
    assert product.price == Decimal("19.99")
    assert product.description is None

    assert client.products.get(product.id) == product
    replaced = client.products.replace(
        product.id,
        name="Desk Lamp 2",
        price=24.5,
        category=category,
        description="Brighter",
    )
    assert (replaced.name, replaced.price) == ("Desk Lamp 2", Decimal("24.50"))
    updated = client.products.update(product.id, description=None)
    assert updated.description is None
    assert updated.name == "Desk Lamp 2"

    cheap = client.products.list(category=category, max_price=Decimal("10"))
    assert cheap.total == 0
    listed = client.products.list(category=category, min_price=20)
    assert [item.id for item in listed.data] == [product.id]

    client.products.delete(product.id)
    with pytest.raises(NotFoundError):
        client.products.get(product.id)


def test_search_finds_products_and_users(client: TechCorp) -> None:
    word = uuid.uuid4().hex[:8]
    product = client.products.create(
        name=f"Telescope {word}", price=300, category="optics"
    )

    page = client.search.query(f"telescope {word}", type="product")

    assert page.data[0].type == "product"
    assert page.data[0].item.id == product.id
    assert 0 < page.data[0].score <= 1
    assert page.data[0].highlights


def test_payments_create_get_list(client: TechCorp) -> None:
    product = client.products.create(
        name="Mug", price=Decimal("4.25"), category="kitchen"
    )

    payment = client.payments.create(
        product_id=product.id, payment_method="pm_card_visa", quantity=2
    )
    declined = client.payments.create(
        product_id=product.id, payment_method="pm_card_chargeDeclined"
    )

    assert payment.id.startswith("pay_")
    assert (payment.status, payment.amount) == ("succeeded", Decimal("8.50"))
    assert declined.status == "failed"
    assert declined.failure_code
    assert client.payments.get(payment.id) == payment
    assert payment.id in {item.id for item in client.payments.list(limit=100).data}


def test_webhooks_and_deliveries(client: TechCorp) -> None:
    webhook = client.webhooks.create(
        url=UNREACHABLE_RECEIVER, events=["product.created"], description="tests"
    )
    assert webhook.id.startswith("whk_")
    assert webhook.secret
    assert webhook.secret not in repr(webhook)

    assert client.webhooks.get(webhook.id).secret is None
    updated = client.webhooks.update(webhook.id, events=["*"], enabled=True)
    assert updated.events == ["*"]
    rotated = client.webhooks.rotate_secret(webhook.id)
    assert rotated.secret not in (None, webhook.secret)
    assert webhook.id in {item.id for item in client.webhooks.list(limit=100).data}

    delivery = client.webhooks.send_test(webhook.id)
    assert delivery.webhook_id == webhook.id
    assert client.webhooks.deliveries.get(webhook.id, delivery.id).id == delivery.id
    deliveries = client.webhooks.deliveries.list(webhook.id)
    assert delivery.id in {item.id for item in deliveries.data}
    again = client.webhooks.deliveries.redeliver(webhook.id, delivery.id)
    assert again.event_id == delivery.event_id

    client.webhooks.delete(webhook.id)
    with pytest.raises(NotFoundError):
        client.webhooks.get(webhook.id)


def test_clients_create_list_delete(client: TechCorp, server: LocalServer) -> None:
    created = client.clients.create(name=unique("client"))
    assert created.id.startswith("cli_")
    assert created.client_secret not in repr(created)
    assert created.id in {item.id for item in client.clients.list(limit=100).data}

    with TechCorp(
        client_id=created.id,
        client_secret=created.client_secret,
        base_url=server.base_url,
    ) as own:
        assert own.system.status().status
        client.clients.delete(created.id)
        with pytest.raises(AuthenticationError):
            own.system.status()


def test_system_health_readiness_and_status(client: TechCorp) -> None:
    assert client.system.health().status == "ok"
    assert client.system.readiness().status == "ok"

    starts_at = datetime.now(UTC) + timedelta(hours=1)
    status = client.system.set_status(
        status="maintenance", message="Database upgrade", starts_at=starts_at
    )
    assert (status.status, status.message) == ("maintenance", "Database upgrade")
    assert status.starts_at is not None
    assert abs(status.starts_at - starts_at) < timedelta(seconds=1)
    assert client.system.status().status == "maintenance"
    client.system.set_status(status="operational", message="All systems go")


def test_member_is_refused_admin_operations(
    client: TechCorp, server: LocalServer
) -> None:
    email = f"{unique('member')}@example.com"
    client.users.create(email=email, password=PASSWORD, role="member")

    with TechCorp(email=email, password=PASSWORD, base_url=server.base_url) as member:
        with pytest.raises(PermissionDeniedError) as raised:
            member.products.create(name="Nope", price=1, category="x")
        assert raised.value.status == 403
        with pytest.raises(BadRequestError) as invalid:
            member.products.list(limit=500)
        assert invalid.value.error == "bad_request"


@pytest.mark.parametrize("product_id", [".", "..", "prd_1..", "prd_1?limit=1"])
def test_product_ids_with_dots_or_queries_stay_in_the_path(
    client: TechCorp, product_id: str
) -> None:
    with pytest.raises(NotFoundError) as raised:
        client.products.get(product_id)

    assert raised.value.message == f"No product has the id '{product_id}'."
