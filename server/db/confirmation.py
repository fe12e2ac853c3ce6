"""Joint applications for judicial confirmation (司法确认申请) and each party's confirmation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.confirmation.vocabulary import ApplicationStatus, Decision
from server.db.base import Base, EnumString, UtcDateTime, utcnow


class ConfirmationApplication(Base):
    """One application for one sealed agreement, from proposal to the court's ruling.

    ``apply_by`` is 30 days after the agreement took effect (``effective_on``); once filed the
    court decides by ``decide_by`` (15 days, extended once by 10).
    """

    __tablename__ = "confirmation_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    court_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[ApplicationStatus] = mapped_column(EnumString(ApplicationStatus, 16))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    apply_by: Mapped[dt.date] = mapped_column(Date)
    filed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    decide_by: Mapped[dt.date | None] = mapped_column(Date)
    application_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    bundle: Mapped[str] = mapped_column(Text, default="{}")
    extended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[Decision | None] = mapped_column(EnumString(Decision, 16))
    decision_reasons: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ruling_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))

    __table_args__ = (Index("ix_confirmation_applications_court", "court_id", "status"),)


class ApplicationConsent(Base):
    """One party's confirmation of the joint application, through their own link."""

    __tablename__ = "confirmation_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("confirmation_applications.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    confirmed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    session_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("application_id", "party_id", name="uq_confirmation_consents_party"),
    )
