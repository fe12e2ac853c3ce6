"""Routing history (分流转办) and supervision notes (督办)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, UtcDateTime, utcnow
from server.vocabulary import Lane


class Routing(Base):
    """One transfer of a case to a centre, room, department, court or mediator."""

    __tablename__ = "routings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    from_centre_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    to_mediator_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    lane: Mapped[Lane] = mapped_column(EnumString(Lane, 8))
    reason: Mapped[str] = mapped_column(Text)


class Supervision(Base):
    """A supervisor's note on a case (督办), optionally with a new time limit."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text)
    respond_by: Mapped[dt.date | None] = mapped_column(Date)
