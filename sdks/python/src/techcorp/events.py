"""Typed events: webhook deliveries and the messages of the event stream.

Both share one envelope, `{"id", "type", "created", "data"}`, with `created`
in Unix seconds. The models accept fields they do not know, so a newer
server that adds a field does not break an older SDK, and an event type the
SDK does not know yet parses as `UnknownWebhookEvent` or `UnknownMessage`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter

__all__ = [
    "Ack",
    "MarketUpdate",
    "MarketUpdateData",
    "Payment",
    "PaymentEvent",
    "Ping",
    "Pong",
    "Product",
    "ProductEvent",
    "ResyncRequired",
    "ResyncRequiredData",
    "StreamErrorMessage",
    "StreamMessage",
    "SystemStatus",
    "SystemStatusData",
    "UnknownMessage",
    "UnknownWebhookEvent",
    "User",
    "UserEvent",
    "WebhookEvent",
    "WebhookTest",
    "WebhookTestEvent",
    "parse_stream_message",
    "parse_webhook_event",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# Resources as the API renders them, which is what webhook events carry.


class User(_Model):
    id: str
    email: str
    role: str
    """`admin` or `member`."""
    created_at: str
    """ISO 8601 UTC timestamp."""
    updated_at: str


class Product(_Model):
    id: str
    name: str
    price: float
    """Exact to the cent as sent; a JSON number with at most two decimals."""
    category: str
    description: str | None = None
    created_at: str
    updated_at: str


class Payment(_Model):
    id: str
    user_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_amount: float
    amount: float
    currency: str
    payment_method: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    failure_message: str | None = None
    created_at: str


class WebhookTest(_Model):
    """The data of the event that `POST /v2/webhooks/{id}/test` sends."""

    webhook_id: str
    message: str


# Webhook events.


class _WebhookEnvelope(_Model):
    id: str
    """The event id, `evt_…`; the same on every delivery of one event."""
    created: int
    """Unix seconds."""


class UserEvent(_WebhookEnvelope):
    type: Literal["user.created", "user.updated", "user.deleted"]
    data: User


class ProductEvent(_WebhookEnvelope):
    type: Literal["product.created", "product.updated", "product.deleted"]
    data: Product


class PaymentEvent(_WebhookEnvelope):
    type: Literal["payment.succeeded", "payment.failed"]
    data: Payment


class WebhookTestEvent(_WebhookEnvelope):
    type: Literal["webhook.test"]
    data: WebhookTest


class UnknownWebhookEvent(_WebhookEnvelope):
    """An event of a type this version of the SDK does not know."""

    type: str
    data: dict[str, Any]


_WEBHOOK_TAGS = {
    "user.created": "user",
    "user.updated": "user",
    "user.deleted": "user",
    "product.created": "product",
    "product.updated": "product",
    "product.deleted": "product",
    "payment.succeeded": "payment",
    "payment.failed": "payment",
    "webhook.test": "webhook",
}


def _webhook_tag(value: Any) -> str:
    event_type = (
        value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    )
    return _WEBHOOK_TAGS.get(str(event_type), "unknown")


WebhookEvent = Annotated[
    Annotated[UserEvent, Tag("user")]
    | Annotated[ProductEvent, Tag("product")]
    | Annotated[PaymentEvent, Tag("payment")]
    | Annotated[WebhookTestEvent, Tag("webhook")]
    | Annotated[UnknownWebhookEvent, Tag("unknown")],
    Discriminator(_webhook_tag),
]
"""A webhook event, typed by its `type`."""

_webhook_event = TypeAdapter[WebhookEvent](WebhookEvent)


def parse_webhook_event(payload: str | bytes) -> WebhookEvent:
    """Parse a webhook body without checking its signature.

    Use `techcorp.webhooks.construct_event` for requests from the network; it
    checks the signature first.
    """
    return _webhook_event.validate_json(payload)


# Stream messages.


class MarketUpdateData(_Model):
    product_id: str
    name: str
    category: str
    price: float
    previous_price: float


class SystemStatusData(_Model):
    status: str
    """`operational`, `maintenance` or `degraded`."""
    message: str
    starts_at: str | None = None
    ends_at: str | None = None
    updated_at: str


class ResyncRequiredData(_Model):
    last_event_id: str
    message: str


class _StreamEnvelope(_Model):
    created: int
    """Unix seconds."""


class MarketUpdate(_StreamEnvelope):
    """A product's price changed."""

    id: str
    """`<epoch>-<sequence>`; the stream resumes after the last one it yielded."""
    type: Literal["market_update"]
    data: MarketUpdateData


class SystemStatus(_StreamEnvelope):
    """The system status: an announced change, or the snapshot on connect.

    The snapshot that opens every connection, reconnections included, has
    `id` None.
    """

    id: str | None
    type: Literal["system_status"]
    data: SystemStatusData


class ResyncRequired(_StreamEnvelope):
    """The events after `data.last_event_id` are gone from the server's history.

    Read the current state through the HTTP API; the stream continues with
    live events.
    """

    id: None = None
    type: Literal["resync_required"]
    data: ResyncRequiredData


class Ack(_StreamEnvelope):
    """The server applied a `subscribe`, `unsubscribe` or `resume` action."""

    id: None = None
    type: Literal["ack"]
    data: dict[str, Any]


class StreamErrorMessage(_StreamEnvelope):
    """The server could not use a message the client sent; the stream goes on.

    `data` is the API's JSON error: `error`, `message`, and maybe `details`.
    """

    id: None = None
    type: Literal["error"]
    data: dict[str, Any]


class Ping(_StreamEnvelope):
    id: None = None
    type: Literal["ping"]
    data: dict[str, Any]


class Pong(_StreamEnvelope):
    id: None = None
    type: Literal["pong"]
    data: dict[str, Any]


class UnknownMessage(_StreamEnvelope):
    """A message of a type this version of the SDK does not know."""

    id: str | None
    type: str
    data: Any


_STREAM_TYPES = {
    "market_update",
    "system_status",
    "resync_required",
    "ack",
    "error",
    "ping",
    "pong",
}


def _stream_tag(value: Any) -> str:
    message_type = (
        value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    )
    return message_type if message_type in _STREAM_TYPES else "unknown"


StreamMessage = Annotated[
    Annotated[MarketUpdate, Tag("market_update")]
    | Annotated[SystemStatus, Tag("system_status")]
    | Annotated[ResyncRequired, Tag("resync_required")]
    | Annotated[Ack, Tag("ack")]
    | Annotated[StreamErrorMessage, Tag("error")]
    | Annotated[Ping, Tag("ping")]
    | Annotated[Pong, Tag("pong")]
    | Annotated[UnknownMessage, Tag("unknown")],
    Discriminator(_stream_tag),
]
"""A message of the event stream, typed by its `type`."""

_stream_message = TypeAdapter[StreamMessage](StreamMessage)


def parse_stream_message(text: str | bytes) -> StreamMessage:
    """Parse one stream message; raises `pydantic.ValidationError` if malformed."""
    return _stream_message.validate_json(text)
