"""What a stream client may send, its subscription, and the close codes.

Client messages are JSON objects with an `action`:

- `subscribe`: add event types, and set or clear the `market_update`
  filters (`product_ids`, `category`);
- `unsubscribe`: remove event types;
- `ping`: request a `pong`, and `pong`: reply to the server's `ping`;
- `resume`: receive the events after `last_event_id`.

Each one gets an `ack` (or a `pong`), and a message that cannot be used gets
an `error` message; neither closes the connection. A message longer than
`MAX_MESSAGE_CHARACTERS` closes it with 1009.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..core.errors import BadRequestError
from ..core.http import validate
from ..core.text import reject_control_characters
from .events import EVENT_TYPES, MARKET_UPDATE, StreamEvent

MAX_MESSAGE_CHARACTERS = 16_384
MAX_PRODUCT_IDS = 1000

# Close codes. 1001 is RFC 6455's "going away" and 1009 its "message too
# big" (section 7.4.1), 1013 is "try again later" in IANA's WebSocket close
# code registry, and 4000-4999 are reserved for applications (RFC 6455
# section 7.4.2).
GOING_AWAY: Final = 1001
MESSAGE_TOO_BIG: Final = 1009
TRY_AGAIN_LATER: Final = 1013
TOKEN_EXPIRED: Final = 4001
ACCESS_REVOKED: Final = 4003
PING_TIMEOUT: Final = 4008
TOO_SLOW: Final = 4029

CLOSE_REASONS: Final = {
    GOING_AWAY: "The server is shutting down; reconnect with last_event_id.",
    MESSAGE_TOO_BIG: f"A client message is longer than {MAX_MESSAGE_CHARACTERS} "
    "characters.",
    TRY_AGAIN_LATER: "The event history is unreachable; reconnect in a few seconds.",
    TOKEN_EXPIRED: "The access token expired; reconnect with a new token.",
    ACCESS_REVOKED: "The access token's user or API client was deleted.",
    PING_TIMEOUT: "No message arrived in time after a ping.",
    TOO_SLOW: "The client fell too far behind; reconnect with last_event_id.",
}

EventType = Literal["market_update", "system_status"]
ProductId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Category = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=64
    ),
    # Product categories cannot contain control characters, so such a filter
    # would match nothing.
    AfterValidator(reject_control_characters),
]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscribeAction(_Action):
    action: Literal["subscribe"]
    events: list[EventType] = Field(default_factory=list, max_length=len(EVENT_TYPES))
    product_ids: list[ProductId] | None = Field(
        default=None, max_length=MAX_PRODUCT_IDS
    )
    category: Category | None = None


class UnsubscribeAction(_Action):
    action: Literal["unsubscribe"]
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class PingAction(_Action):
    action: Literal["ping"]


class PongAction(_Action):
    action: Literal["pong"]


class ResumeAction(_Action):
    action: Literal["resume"]
    last_event_id: str = Field(min_length=1, max_length=64)


ClientAction = Annotated[
    SubscribeAction | UnsubscribeAction | PingAction | PongAction | ResumeAction,
    Field(discriminator="action"),
]
ACTIONS = ("subscribe", "unsubscribe", "ping", "pong", "resume")


class _ActionEnvelope(BaseModel):
    """Validates one client message through the action union."""

    message: ClientAction


def parse_action(text: str) -> Any:
    """Parse one client message, raising `BadRequestError` with the reason."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"The message is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict):
        raise BadRequestError("The message must be a JSON object with an 'action'.")
    if document.get("action") not in ACTIONS:
        raise BadRequestError(
            "The message needs an 'action': one of " + ", ".join(ACTIONS) + ".",
            details=[{"field": "action", "message": "Unknown or missing action."}],
        )
    return validate(_ActionEnvelope, {"message": document}).message


@dataclass
class Subscription:
    """The event types a connection receives, and its `market_update` filters."""

    events: set[str] = field(default_factory=lambda: set(EVENT_TYPES))
    product_ids: frozenset[str] | None = None
    category: str | None = None

    def matches(self, event: StreamEvent) -> bool:
        if event.type not in self.events:
            return False
        if event.type != MARKET_UPDATE:
            return True
        product_ids = self.product_ids
        if product_ids is not None and event.data["product_id"] not in product_ids:
            return False
        return self.category is None or event.data["category"] == self.category

    def apply(self, action: SubscribeAction | UnsubscribeAction) -> None:
        if isinstance(action, UnsubscribeAction):
            self.events.difference_update(action.events)
            return
        self.events.update(action.events)
        if "product_ids" in action.model_fields_set:
            ids = action.product_ids
            self.product_ids = frozenset(ids) if ids is not None else None
        if "category" in action.model_fields_set:
            self.category = action.category

    def describe(self) -> dict[str, Any]:
        """Render the subscription as the `ack` messages show it."""
        return {
            "events": sorted(self.events),
            "product_ids": sorted(self.product_ids)
            if self.product_ids is not None
            else None,
            "category": self.category,
        }
