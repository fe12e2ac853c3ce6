"""Counted actions of anonymous visitors (e.g. filing disputes), for rate limiting across every
process of a deployment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class ThrottleHit(Base):
    """One counted action. ``key_hash`` is an HMAC of the visitor's address, never the address."""

    __tablename__ = "throttle_hits"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_throttle_hits_bucket_key_at", "bucket", "key_hash", "at"),)
