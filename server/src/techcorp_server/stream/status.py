"""The system status: what admins announce, and what every client reads.

The status is announced on the stream as a `system_status` event, and each
process keeps the newest one it has seen in memory. On a bus shared by
several processes, a status set through one process reaches the others as
that event, and a process that starts later reads it from the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ..core.db import isoformat, utc_now
from ..core.handlers import log_background_failure
from ..core.text import reject_control_characters
from .events import SYSTEM_STATUS, StreamEvent
from .hub import StreamHub

logger = logging.getLogger(__name__)

MAX_STATUS_MESSAGE_LENGTH = 2000
DEFAULT_MESSAGE = "All systems operational."

Status = Literal["operational", "maintenance", "degraded"]
StatusMessage = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_STATUS_MESSAGE_LENGTH
    ),
    AfterValidator(reject_control_characters),
]


class SystemStatusUpdate(BaseModel):
    """The body of `POST /v2/system/status`."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    message: StatusMessage
    starts_at: AwareDatetime | None = Field(
        default=None, description="When the maintenance or disruption begins."
    )
    ends_at: AwareDatetime | None = Field(
        default=None, description="When it is expected to end."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self


class SystemStatusPublic(BaseModel):
    """The current system status, as `GET /v2/system/status` returns it."""

    status: Status
    message: str
    starts_at: datetime | None
    ends_at: datetime | None
    updated_at: datetime


def _optional_time(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


class SystemStatusService:
    """The current status, announced on the stream when set."""

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub
        self._current: dict[str, Any] = {
            "status": "operational",
            "message": DEFAULT_MESSAGE,
            "starts_at": None,
            "ends_at": None,
            "updated_at": isoformat(utc_now()),
        }

    async def start(self) -> None:
        """Follow the statuses that other processes announce."""
        self.hub.bus.subscribe(self._follow)
        try:
            latest = await self.hub.bus.latest(SYSTEM_STATUS)
        except Exception as exc:
            # The process starts anyway, and the next status event reaches it.
            log_background_failure(logger, "reading the system status failed", exc)
            return
        if latest is not None:
            self._replace(latest)

    def _follow(self, event: StreamEvent) -> None:
        if event.type == SYSTEM_STATUS:
            self._replace(event.data)

    def _replace(self, status: Mapping[str, Any]) -> None:
        # An event may arrive after a newer status was set here, so the newer
        # one stays. ISO 8601 times in UTC compare as text.
        # NOTE: the times come from each process's clock, so processes on
        # machines whose clocks differ can keep an older status.
        if status["updated_at"] >= self._current["updated_at"]:
            self._current = dict(status)

    def current(self) -> dict[str, Any]:
        return dict(self._current)

    def update(self, update: SystemStatusUpdate) -> dict[str, Any]:
        """Replace the status and announce it to every stream client."""
        self._current = {
            "status": update.status,
            "message": update.message,
            "starts_at": _optional_time(update.starts_at),
            "ends_at": _optional_time(update.ends_at),
            "updated_at": isoformat(utc_now()),
        }
        self.hub.announce(SYSTEM_STATUS, self._current)
        return self.current()
