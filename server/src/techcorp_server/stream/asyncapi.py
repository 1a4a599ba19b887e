"""The AsyncAPI 3.0 document of the event stream, served at `/v2/asyncapi.json`.

Operations are written from the server's side, as AsyncAPI 3.0 defines
them: `send` for what the server sends, `receive` for what it accepts.
"""

from __future__ import annotations

from typing import Any

from ..settings import Settings
from .events import (
    ACK,
    ERROR,
    MARKET_UPDATE,
    PING,
    PONG,
    RESYNC_REQUIRED,
    SYSTEM_STATUS,
)
from .protocol import CLOSE_REASONS, MAX_MESSAGE_CHARACTERS, MAX_PRODUCT_IDS
from .status import MAX_STATUS_MESSAGE_LENGTH

ASYNCAPI_VERSION = "3.0.0"

DESCRIPTION = """\
Real-time events of the TechCorp API v2 over one WebSocket.

Authenticate the handshake with `Authorization: Bearer <token>`. Browsers,
which cannot set that header, offer the subprotocols `bearer, <token>` (the
server selects `bearer`) or add `?access_token=<token>`. A missing or invalid
token gets HTTP 401 with the JSON error before the upgrade, and the handshake
counts against the rate limit.

Every server message is `{"id", "type", "created", "data"}`. Events
(`market_update`, `system_status`) have an id; send the last one you saw as
`last_event_id` when you reconnect to receive what you missed, or get a
`resync_required` message when it is too old. Control messages and the
status sent first on connect have `"id": null`.

Client messages are JSON text of at most {max_characters} characters. A
longer message, text or binary, closes the connection with 1009.

After `TECHCORP_STREAM_PING_INTERVAL_SECONDS` the server sends `ping`;
answer with any message, such as `{"action": "pong"}`, within
`TECHCORP_STREAM_PING_TIMEOUT_SECONDS`, after which the next interval
starts.

Close codes:

| code | meaning |
|---|---|
{close_codes}
"""


def _close_code_rows() -> str:
    return "\n".join(f"| {code} | {reason} |" for code, reason in CLOSE_REASONS.items())


def _envelope(
    message_type: str, data: dict[str, Any], *, has_id: bool
) -> dict[str, Any]:
    id_schema: dict[str, Any] = (
        {"type": "string", "description": "`<epoch>-<sequence>`; resume from it."}
        if has_id
        else {"type": "null"}
    )
    return {
        "type": "object",
        "required": ["id", "type", "created", "data"],
        "properties": {
            "id": id_schema,
            "type": {"const": message_type},
            "created": {"type": "integer", "description": "Unix seconds."},
            "data": data,
        },
    }


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

STATUS_DATA = _object(
    {
        "status": {"enum": ["operational", "maintenance", "degraded"]},
        "message": {"type": "string", "maxLength": MAX_STATUS_MESSAGE_LENGTH},
        "starts_at": NULLABLE_TIME,
        "ends_at": NULLABLE_TIME,
        "updated_at": {"type": "string", "format": "date-time"},
    },
    ["status", "message", "starts_at", "ends_at", "updated_at"],
)

MARKET_DATA = _object(
    {
        "product_id": {"type": "string"},
        "name": {"type": "string"},
        "category": {"type": "string"},
        "price": {"type": "number"},
        "previous_price": {"type": "number"},
    },
    ["product_id", "name", "category", "price", "previous_price"],
)

EVENT_NAMES = {"enum": [MARKET_UPDATE, SYSTEM_STATUS]}


def _server_messages() -> dict[str, Any]:
    empty = _object({}, [])
    return {
        "marketUpdate": {
            "name": MARKET_UPDATE,
            "summary": "A product's price changed.",
            "payload": _envelope(MARKET_UPDATE, MARKET_DATA, has_id=True),
        },
        "systemStatus": {
            "name": SYSTEM_STATUS,
            "summary": "The system status changed, or the current one on connect.",
            "payload": _envelope(SYSTEM_STATUS, STATUS_DATA, has_id=True),
        },
        "ack": {
            "name": ACK,
            "summary": "A client action succeeded; the data shows the subscription.",
            "payload": _envelope(ACK, {"type": "object"}, has_id=False),
        },
        "error": {
            "name": ERROR,
            "summary": "A client message could not be used; the connection stays.",
            "payload": _envelope(
                ERROR,
                _object(
                    {"error": {"type": "string"}, "message": {"type": "string"}},
                    ["error", "message"],
                ),
                has_id=False,
            ),
        },
        "ping": {
            "name": PING,
            "summary": "Answer with any message in time.",
            "payload": _envelope(PING, empty, has_id=False),
        },
        "pong": {
            "name": PONG,
            "summary": "The answer to a client's ping.",
            "payload": _envelope(PONG, empty, has_id=False),
        },
        "resyncRequired": {
            "name": RESYNC_REQUIRED,
            "summary": "The events after last_event_id are gone; read the "
            "current state through the HTTP API.",
            "payload": _envelope(RESYNC_REQUIRED, {"type": "object"}, has_id=False),
        },
    }


def _client_messages() -> dict[str, Any]:
    events = {"type": "array", "items": EVENT_NAMES}
    ids: dict[str, Any] = {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": MAX_PRODUCT_IDS,
    }
    return {
        "subscribe": {
            "payload": _object(
                {
                    "action": {"const": "subscribe"},
                    "events": events,
                    "product_ids": ids,
                    "category": {"type": ["string", "null"]},
                },
                ["action"],
            )
        },
        "unsubscribe": {
            "payload": _object(
                {"action": {"const": "unsubscribe"}, "events": events},
                ["action", "events"],
            )
        },
        "clientPing": {"payload": _object({"action": {"const": "ping"}}, ["action"])},
        "clientPong": {"payload": _object({"action": {"const": "pong"}}, ["action"])},
        "resume": {
            "payload": _object(
                {"action": {"const": "resume"}, "last_event_id": {"type": "string"}},
                ["action", "last_event_id"],
            )
        },
    }


def _query_bindings() -> dict[str, Any]:
    comma_list = "A comma-separated list."
    return {
        "ws": {
            "query": _object(
                {
                    "access_token": {"type": "string"},
                    "last_event_id": {"type": "string"},
                    "events": {"type": "string", "description": comma_list},
                    "product_ids": {"type": "string", "description": comma_list},
                    "category": {"type": "string"},
                },
                [],
            )
        }
    }


def build_asyncapi_document(settings: Settings) -> dict[str, Any]:
    server_messages = _server_messages()
    client_messages = _client_messages()
    messages = {**server_messages, **client_messages}
    channel_ref = {"$ref": "#/channels/events"}

    def refs(names: dict[str, Any]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/events/messages/{name}"} for name in names]

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "TechCorp API event stream",
            "version": "2.0.0",
            "description": DESCRIPTION.replace(
                "{close_codes}", _close_code_rows()
            ).replace("{max_characters}", f"{MAX_MESSAGE_CHARACTERS:,}"),
        },
        "servers": {
            "local": {
                "host": f"{settings.host}:{settings.port}",
                "protocol": "ws",
                "security": [
                    {"$ref": "#/components/securitySchemes/bearer"},
                    {"$ref": "#/components/securitySchemes/accessToken"},
                ],
            }
        },
        "channels": {
            "events": {
                "address": "/v2/events",
                "messages": {
                    name: {"$ref": f"#/components/messages/{name}"} for name in messages
                },
                "bindings": _query_bindings(),
            }
        },
        "operations": {
            "sendEvents": {
                "action": "send",
                "channel": channel_ref,
                "messages": refs(server_messages),
            },
            "receiveActions": {
                "action": "receive",
                "channel": channel_ref,
                "messages": refs(client_messages),
            },
        },
        "components": {
            "messages": messages,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "accessToken": {
                    "type": "httpApiKey",
                    "name": "access_token",
                    "in": "query",
                },
            },
        },
    }
