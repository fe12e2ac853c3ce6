"""After closure: satisfaction ratings (群众评价) and follow-up visits (定期回访)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, UtcDateTime, utcnow
from server.vocabulary import FollowUpResult


class Rating(Base):
    """One party's satisfaction rating of a closed case, 1 to 5, given through their link."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "party_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    )


class FollowUp(Base):
    """A follow-up visit scheduled after closure, and what it found."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    scheduled_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    visited_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[FollowUpResult | None] = mapped_column(EnumString(FollowUpResult, 16))
    note: Mapped[str] = mapped_column(Text, default="")
