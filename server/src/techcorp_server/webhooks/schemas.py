"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..core.schemas import optional_field
from ..core.text import reject_control_characters
from ..events.outbox import ALL_EVENTS, EVENT_TYPES
from .addresses import MAX_URL_LENGTH
from .signatures import secret_problem

MAX_DESCRIPTION_LENGTH = 500


def _event_list(value: Any) -> Any:
    # `"events": "*"` is accepted as shorthand for `["*"]`.
    if value == ALL_EVENTS:
        return [ALL_EVENTS]
    return value


def _check_events(events: list[str]) -> list[str]:
    unknown = [name for name in events if name not in (*EVENT_TYPES, ALL_EVENTS)]
    if unknown:
        raise PydanticCustomError(
            "unknown_event",
            "Unknown event {names}. Use '*' or some of: {known}.",
            {"names": ", ".join(unknown[:5]), "known": ", ".join(EVENT_TYPES)},
        )
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return list(dict.fromkeys(events))


def _check_secret(secret: str) -> str:
    problem = secret_problem(secret)
    if problem is not None:
        raise PydanticCustomError("invalid_secret", problem)
    return secret


WebhookURL = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
]
EventList = Annotated[
    list[str],
    BeforeValidator(_event_list),
    Field(min_length=1, max_length=len(EVENT_TYPES) + 1),
    AfterValidator(_check_events),
]
Secret = Annotated[str, AfterValidator(_check_secret)]
Description = Annotated[
    str,
    StringConstraints(max_length=MAX_DESCRIPTION_LENGTH),
    AfterValidator(reject_control_characters),
]


class WebhookCreate(BaseModel):
    """The body of `POST /v2/webhooks`."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookURL
    events: EventList = Field(
        examples=[["user.created", "payment.succeeded"]],
        description='Event types to receive, or `["*"]` for all of them.',
    )
    secret: Secret | None = Field(
        default=None,
        description="The signing secret; leave it out to get a generated "
        "`whsec_` secret. Returned only in this response.",
    )
    description: Description = ""


class WebhookUpdate(BaseModel):
    """The body of `PATCH /v2/webhooks/{id}`: only the fields to change.

    Enabling a disabled endpoint resumes its pending deliveries.
    """

    model_config = ConfigDict(extra="forbid")

    url: WebhookURL | None = optional_field(WebhookURL)
    events: EventList | None = optional_field(EventList)
    description: Description | None = optional_field(Description)
    enabled: bool | None = optional_field(bool)

    @field_validator("url", "events", "description", "enabled", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_value", "Must not be null. Leave the field out to keep its value."
            )
        return value


class SecretRotation(BaseModel):
    """The body of `POST /v2/webhooks/{id}/rotate-secret`, which may be empty."""

    model_config = ConfigDict(extra="forbid")

    secret: Secret | None = None


class WebhookPublic(BaseModel):
    """A webhook endpoint as the API returns it.

    `secret` appears only when it is created or rotated.
    """

    id: str = Field(examples=["whk_01J9Z6V3Q8G2N5X7W4K1M0P3RT"])
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the server disabled the endpoint, if it did."
    )
    secret: str | None = Field(default=None, description="Shown once.")
    created_at: str = Field(description="ISO 8601 UTC timestamp.")
    updated_at: str = Field(description="ISO 8601 UTC timestamp.")


class AttemptPublic(BaseModel):
    """One HTTP request of a delivery."""

    number: int
    attempted_at: str = Field(description="ISO 8601 UTC timestamp.")
    status_code: int | None = Field(description="None when no response came.")
    error: str | None = Field(description="Timeout or connection error, if any.")
    response_excerpt: str | None = Field(
        description="The first 500 bytes of the receiver's response body."
    )
    duration_ms: int


class DeliveryPublic(BaseModel):
    """One event on its way to one endpoint, with every attempt so far."""

    id: str = Field(examples=["dlv_01J9Z6V3Q8G2N5X7W4K1M0P3RT"])
    webhook_id: str
    event_id: str
    event_type: str
    status: str = Field(description="`pending`, `succeeded` or `failed`.")
    attempt_count: int
    next_attempt_at: str | None = Field(
        description="When a pending delivery is tried next (ISO 8601 UTC)."
    )
    last_status_code: int | None
    last_error: str | None
    created_at: str
    updated_at: str
    attempts: list[AttemptPublic]
