from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime


class FeedEntry(Base):
    """One recorded change, for the other server processes to follow.

    `seq` orders the changes: SQLite's rowid, PostgreSQL's identity column.
    `origin` names the process that made the change, which skips its own.
    """

    __tablename__ = "change_feed"
    # Without AUTOINCREMENT, SQLite hands out the highest rowid plus one, so
    # after old rows are pruned a new row could reuse a number that readers
    # have passed already.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    origin: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    previous: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
