"""The system status: what admins announce, and what every client reads.

The status is kept in this process's memory and announced on the stream as a
`system_status` event.
"""

from __future__ import annotations

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
from ..core.text import reject_control_characters
from .events import SYSTEM_STATUS
from .hub import StreamHub

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
    """The current status of this process, announced on the stream when set.

    NOTE: each server process keeps its own status. With several processes
    the status must move to a shared store, as the event bus will.
    """

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub
        self._current: dict[str, Any] = {
            "status": "operational",
            "message": DEFAULT_MESSAGE,
            "starts_at": None,
            "ends_at": None,
            "updated_at": isoformat(utc_now()),
        }

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
