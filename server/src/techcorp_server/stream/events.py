"""Stream messages: events with ids, and the control messages around them.

Every message the server sends has the same four fields: `id`, `type`,
`created` (Unix seconds) and `data`. Events (`market_update`,
`system_status`) have an id a client can resume from. Control messages
(`ack`, `error`, `ping`, `pong`, `resync_required`) and the status snapshot
sent on connect have `"id": null`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.types import Message

MARKET_UPDATE: Final = "market_update"
SYSTEM_STATUS: Final = "system_status"
EVENT_TYPES: Final = (MARKET_UPDATE, SYSTEM_STATUS)

ACK: Final = "ack"
ERROR: Final = "error"
PING: Final = "ping"
PONG: Final = "pong"
RESYNC_REQUIRED: Final = "resync_required"


@dataclass(frozen=True, slots=True)
class EventId:
    """An event id taken apart: `<epoch>-<sequence>`.

    The epoch is the millisecond the numbering began, so ids from an earlier
    run of the server are told apart from this run's ids, and `sequence`
    counts the events of this run from 1.
    """

    epoch: int
    sequence: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.sequence}"

    @classmethod
    def parse(cls, text: str) -> EventId | None:
        """Return the id in `text`, or None when it is not an event id."""
        epoch, separator, sequence = text.partition("-")
        if not separator or not epoch.isdigit() or not sequence.isdigit():
            return None
        if len(epoch) > 20 or len(sequence) > 20:
            return None
        return cls(int(epoch), int(sequence))


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event, with its message encoded once for every connection."""

    id: EventId
    type: str
    created: int
    data: Mapping[str, Any]
    message: Message
    """The ASGI `websocket.send` message, shared by every send of this event."""

    @classmethod
    def create(
        cls,
        event_id: EventId,
        event_type: str,
        data: Mapping[str, Any],
        created: int | None = None,
    ) -> StreamEvent:
        created = int(time.time()) if created is None else created
        text = encode(str(event_id), event_type, data, created)
        message = {"type": "websocket.send", "text": text}
        return cls(event_id, event_type, created, data, message)

    @property
    def sequence(self) -> int:
        return self.id.sequence


def encode(
    event_id: str | None,
    message_type: str,
    data: Mapping[str, Any],
    created: int | None = None,
) -> str:
    """Render one stream message as JSON text."""
    created = int(time.time()) if created is None else created
    body = {"id": event_id, "type": message_type, "created": created, "data": data}
    return orjson.dumps(body).decode()


def control_message(message_type: str, data: Mapping[str, Any]) -> Message:
    """Build the ASGI send message of a control message (one without an id)."""
    return {"type": "websocket.send", "text": encode(None, message_type, data)}
