"""Configurable time limits (限时办结) per lane and dispute type."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString
from server.vocabulary import Lane


class DeadlineRule(Base):
    """Days allowed from acceptance to closure. ``dispute_type`` empty means any type."""

    __tablename__ = "deadline_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    lane: Mapped[Lane] = mapped_column(EnumString(Lane, 8))
    dispute_type: Mapped[str] = mapped_column(String(32), default="")
    days: Mapped[int]

    __table_args__ = (UniqueConstraint("lane", "dispute_type"),)
