"""The WebSocket handshake of `/v2/events`: the token and the query options.

A token is read from, in this order: the `Authorization: Bearer` header; the
subprotocols `bearer, <token>` (browsers cannot set headers, and the server
then selects the `bearer` subprotocol); the `access_token` query parameter.
The access log records the path without the query, so the token never
reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket

from ..auth.service import BEARER_CHALLENGE
from ..core.errors import BadRequestError, UnauthorizedError
from ..core.text import has_control_character
from .events import EVENT_TYPES
from .protocol import MAX_PRODUCT_IDS, Subscription

BEARER_SUBPROTOCOL = "bearer"
MAX_EVENT_ID_LENGTH = 64
MAX_CATEGORY_LENGTH = 64


@dataclass(frozen=True)
class HandshakeToken:
    token: str
    subprotocol: str | None
    """The subprotocol to select in the accept, if the client offered `bearer`."""


@dataclass(frozen=True)
class StreamOptions:
    subscription: Subscription = field(default_factory=Subscription)
    last_event_id: str | None = None


def _unauthorized(message: str) -> UnauthorizedError:
    return UnauthorizedError(message, headers={"WWW-Authenticate": BEARER_CHALLENGE})


def handshake_token(websocket: WebSocket) -> HandshakeToken:
    """Find the caller's token in the handshake, or raise 401."""
    offered: list[str] = websocket.scope.get("subprotocols") or []
    subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None

    header = websocket.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("The Authorization header must be 'Bearer <token>'.")
        return HandshakeToken(token.strip(), subprotocol)

    if subprotocol is not None:
        position = offered.index(BEARER_SUBPROTOCOL)
        if position + 1 >= len(offered):
            raise _unauthorized(
                "The subprotocol 'bearer' must be followed by the token: "
                "'bearer, <token>'."
            )
        return HandshakeToken(offered[position + 1], subprotocol)

    query_token = websocket.query_params.get("access_token")
    if query_token:
        return HandshakeToken(query_token, None)
    raise _unauthorized(
        "Missing access token; send 'Authorization: Bearer <token>', the "
        "subprotocols 'bearer, <token>', or the access_token query parameter."
    )


def _list_param(params: QueryParams, name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def stream_options(params: QueryParams) -> StreamOptions:
    """Read `events`, `product_ids`, `category` and `last_event_id`, or raise 400."""
    subscription = Subscription()
    events = _list_param(params, "events")
    if events is not None:
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown or not events:
            raise _bad_param(
                "events", f"Give one or more of: {', '.join(EVENT_TYPES)}."
            )
        subscription.events = set(events)

    product_ids = _list_param(params, "product_ids")
    if product_ids is not None:
        if not product_ids or len(product_ids) > MAX_PRODUCT_IDS:
            raise _bad_param(
                "product_ids", f"Give 1 to {MAX_PRODUCT_IDS} ids, comma-separated."
            )
        subscription.product_ids = frozenset(product_ids)

    raw_category = params.get("category")
    if raw_category is not None:
        category = raw_category.strip().lower()
        if (
            not category
            or len(category) > MAX_CATEGORY_LENGTH
            or has_control_character(category)
        ):
            raise _bad_param(
                "category",
                f"Give a category of 1 to {MAX_CATEGORY_LENGTH} characters, "
                "without control characters.",
            )
        subscription.category = category

    last_event_id = params.get("last_event_id")
    if last_event_id is not None and not 0 < len(last_event_id) <= MAX_EVENT_ID_LENGTH:
        raise _bad_param(
            "last_event_id", "Give the id of the last event received, as sent."
        )
    return StreamOptions(subscription, last_event_id)


def _bad_param(name: str, hint: str) -> BadRequestError:
    return BadRequestError(
        f"Query parameter '{name}' is invalid. {hint}",
        details=[{"field": name, "message": hint}],
    )
