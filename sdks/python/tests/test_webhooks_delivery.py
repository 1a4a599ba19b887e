"""Signature helpers on real deliveries from a server to a loopback receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from techcorp.events import PaymentEvent, ProductEvent, UserEvent, WebhookEvent
from techcorp.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    StandardWebhook,
    WebhookVerificationError,
    construct_event,
    verify_signature,
)

from .events_fixtures import Api, Delivery, Receiver
from .server import LocalServer


@pytest.fixture(scope="module")
def webhook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = LocalServer(
        tmp_path_factory.mktemp("webhooks"),
        env={"TECHCORP_WEBHOOK_ALLOW_PRIVATE": "true"},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def delivered(webhook_server: LocalServer) -> Iterator[tuple[str, Receiver]]:
    """A receiver with one delivery of each event type, and the endpoint secret."""
    receiver = Receiver()
    receiver.start()
    api = Api(webhook_server.base_url)
    endpoint = api.request(
        "POST",
        "/v2/webhooks",
        json={
            "url": receiver.url,
            "events": ["user.created", "product.created", "payment.succeeded"],
        },
    )
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    user = {"email": email, "password": "SecurePassword123!", "role": "member"}
    api.request("POST", "/v2/users", json=user)
    product_id = api.create_product(price=99.99, category="electronics")
    payment = {
        "product_id": product_id,
        "quantity": 2,
        "payment_method": "pm_card_visa",
    }
    api.request("POST", "/v2/payments", json=payment)
    api.close()
    yield endpoint["secret"], receiver
    receiver.stop()


def _verified_event(delivery: Delivery, secret: str) -> WebhookEvent:
    assert verify_signature(delivery.body, secret, delivery.headers["x-signature"])
    assert verify_signature(
        delivery.body.decode(), secret, delivery.headers["x-signature"]
    )
    StandardWebhook(secret).verify(delivery.body, delivery.headers)
    return construct_event(delivery.body, delivery.headers, secret)


def test_user_created_delivery_verifies(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered

    event = _verified_event(receiver.wait_for("user.created"), secret)

    assert isinstance(event, UserEvent)
    assert event.data.email.startswith("buyer-")
    assert event.data.role == "member"


def test_product_created_delivery_verifies(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered

    event = _verified_event(receiver.wait_for("product.created"), secret)

    assert isinstance(event, ProductEvent)
    assert event.data.price == 99.99
    assert event.data.category == "electronics"


def test_payment_succeeded_delivery_verifies(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered

    event = _verified_event(receiver.wait_for("payment.succeeded"), secret)

    assert isinstance(event, PaymentEvent)
    assert event.data.status == "succeeded"
    assert event.data.quantity == 2
    assert event.data.amount == 199.98


def test_delivery_headers_match_event(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered
    delivery = receiver.wait_for("payment.succeeded")

    event = construct_event(delivery.body, delivery.headers, secret)

    assert delivery.headers["x-event-id"] == event.id
    assert delivery.headers["webhook-id"] == event.id
    assert event.id.startswith("evt_")


def test_tampered_delivery_rejected(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered
    delivery = receiver.wait_for("user.created")
    tampered = delivery.body.replace(b'"member"', b'"admin"')

    assert tampered != delivery.body
    assert not verify_signature(tampered, secret, delivery.headers["x-signature"])
    with pytest.raises(WebhookVerificationError, match="No signature"):
        construct_event(tampered, delivery.headers, secret)


def test_wrong_secret_rejected(delivered: tuple[str, Receiver]) -> None:
    _secret, receiver = delivered
    delivery = receiver.wait_for("product.created")
    other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"

    assert not verify_signature(delivery.body, other, delivery.headers["x-signature"])
    with pytest.raises(WebhookVerificationError):
        construct_event(delivery.body, delivery.headers, other)


def test_replayed_delivery_rejected(delivered: tuple[str, Receiver]) -> None:
    secret, receiver = delivered
    delivery = receiver.wait_for("payment.succeeded")
    sent_at = int(delivery.headers["webhook-timestamp"])

    def later() -> float:
        return float(sent_at + DEFAULT_TOLERANCE_SECONDS + 1)

    with pytest.raises(WebhookVerificationError, match="replay"):
        construct_event(delivery.body, delivery.headers, secret, clock=later)
