"""Typed models of the API's responses.

Fields the server adds later are kept rather than refused (`extra="allow"`),
so an older client keeps working against a newer server. Amounts are
`Decimal`, as exact as the API sends them; timestamps are aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "APIClient",
    "APIClientWithSecret",
    "Delivery",
    "DeliveryAttempt",
    "Health",
    "Highlight",
    "Payment",
    "Product",
    "SearchHit",
    "SystemStatus",
    "Token",
    "User",
    "Webhook",
]


class APIModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    # Credentials that the repr, and so logs and tracebacks, leaves out.
    _secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in self._secret_fields:
                yield name, "[redacted]"
            else:
                yield name, value


class Token(APIModel):
    """An access token; `expires_in` is in seconds from when it was issued."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str | None = None

    _secret_fields = frozenset({"access_token"})


class User(APIModel):
    id: str
    email: str
    role: Literal["admin", "member"] | str
    created_at: datetime
    updated_at: datetime


class Product(APIModel):
    id: str
    name: str
    price: Decimal
    category: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime


class Highlight(APIModel):
    """The parts of one field that matched: `(start, end)` code point spans,
    the end exclusive."""

    field: str
    spans: list[tuple[int, int]]


class SearchHit(APIModel):
    """One search result: a product or a user, with its score from 0 to 1."""

    type: Literal["product", "user"]
    score: float
    item: Product | User
    highlights: list[Highlight]


class APIClient(APIModel):
    id: str
    name: str
    user_id: str
    secret_hint: str
    created_at: datetime


class APIClientWithSecret(APIClient):
    """A client just created: `client_secret` is shown this once."""

    client_secret: str

    _secret_fields = frozenset({"client_secret"})


class Payment(APIModel):
    id: str
    user_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_amount: Decimal
    amount: Decimal
    currency: str
    payment_method: str
    status: Literal["succeeded", "failed"] | str
    failure_code: str | None
    failure_message: str | None
    created_at: datetime


class Webhook(APIModel):
    """A webhook endpoint. `secret` is set only in the responses that create
    it or rotate it."""

    id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    secret: str | None = None
    created_at: datetime
    updated_at: datetime

    _secret_fields = frozenset({"secret"})


class DeliveryAttempt(APIModel):
    number: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int


class Delivery(APIModel):
    """One event on its way to one webhook endpoint, with its attempts."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"] | str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    attempts: list[DeliveryAttempt]


class SystemStatus(APIModel):
    """The system status, as `system_status` stream events announce it."""

    status: Literal["operational", "maintenance", "degraded"] | str
    message: str
    starts_at: datetime | None
    ends_at: datetime | None
    updated_at: datetime


class Health(APIModel):
    """The response of `/healthz` or `/readyz`."""

    status: str
