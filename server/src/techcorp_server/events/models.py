from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime, utc_now


class Event(Base):
    """One change, as the JSON body every webhook delivery of it sends.

    The body is stored as the exact bytes that are signed and sent, so every
    attempt of every delivery carries the same bytes and signature input.
    """

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
