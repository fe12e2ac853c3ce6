"""Joint consultation (中心吹哨、部门报到): the centre summons departments to a case."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, UtcDateTime, utcnow


class Consultation(Base):
    """The centre blows the whistle: a topic, a report-by date and the summoned departments."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    convened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    convened_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    topic: Mapped[str] = mapped_column(Text)
    respond_by: Mapped[dt.date] = mapped_column(Date)

    summonses: Mapped[list[Summons]] = relationship(
        back_populates="consultation", order_by="Summons.id", lazy="selectin"
    )


class Summons(Base):
    """One department's summons to a consultation and its report (报到)."""

    __tablename__ = "summonses"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    response: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")

    consultation: Mapped[Consultation] = relationship(back_populates="summonses", lazy="joined")

    __table_args__ = (UniqueConstraint("consultation_id", "department_id"),)
