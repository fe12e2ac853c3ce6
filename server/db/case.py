"""The case (案件) and its parties (当事人)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, EnumString, PathString, UtcDateTime, utcnow
from server.vocabulary import (
    CaseStatus,
    Channel,
    DisputeType,
    Lane,
    NextStep,
    Outcome,
    PartyRole,
)

# The open statuses as SQL, in OPEN_STATUSES order: SQLite uses the partial index only for a
# query that repeats this term exactly (server/queries/case_list.py renders it the same way).
OPEN_CASE_SQL = "status IN ('submitted', 'accepted', 'registered', 'routed', 'mediating')"


class Case(Base):
    """One dispute, from intake to the follow-up visit.

    ``centre_id`` is the centre handling it now; ``scope_path`` copies that centre's
    materialised path so that "cases under this organisation" is one indexed prefix range.
    Routing to a room, a mediator, a department or a court is recorded in the ``*_id`` columns
    and in the :class:`~server.db.routing.Routing` history.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[CaseStatus] = mapped_column(EnumString(CaseStatus, 16))
    channel: Mapped[Channel] = mapped_column(EnumString(Channel, 32))
    dispute_type: Mapped[DisputeType | None] = mapped_column(EnumString(DisputeType, 32))
    lane: Mapped[Lane] = mapped_column(EnumString(Lane, 8), default=Lane.NORMAL)
    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text, default="")
    claims: Mapped[str] = mapped_column(Text, default="")

    centre_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    scope_path: Mapped[str] = mapped_column(PathString)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    court_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    first_receiver_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    accepted_on: Mapped[dt.date] = mapped_column(Date)
    accepted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deadline_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[Outcome | None] = mapped_column(EnumString(Outcome, 16))
    next_step: Mapped[NextStep | None] = mapped_column(EnumString(NextStep, 16))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    feedback_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    feedback_note: Mapped[str] = mapped_column(Text, default="")

    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.id", lazy="selectin"
    )

    __table_args__ = (
        # Keyset pagination of a scope's list, newest first: one centre's cases in order...
        Index("ix_cases_scope_accepted", "scope_path", "accepted_at", "id"),
        # ...and every case in order, walked (and filtered by scope) for a city or a county.
        Index("ix_cases_accepted", "accepted_at", "id"),
        # Open cases in order, with what the overdue filter tests (see server/queries/case_list).
        Index(
            "ix_cases_open",
            "accepted_at",
            "id",
            "scope_path",
            "deadline_on",
            sqlite_where=text(OPEN_CASE_SQL),
            postgresql_where=text(OPEN_CASE_SQL),
        ),
        Index("ix_cases_status_deadline", "status", "deadline_on"),
        Index("ix_cases_mediator", "mediator_id", "accepted_at"),
        Index("ix_cases_room", "room_id", "accepted_at"),
        Index("ix_cases_department", "department_id", "accepted_at"),
        Index("ix_cases_court", "court_id", "accepted_at"),
        # The dashboard: a period's cases under a scope, by type, lane and outcome; covering
        # (deadline and closing date too), so the figures never read the table's rows.
        Index(
            "ix_cases_stats",
            "scope_path",
            "accepted_on",
            "dispute_type",
            "lane",
            "outcome",
            "status",
            "deadline_on",
            "closed_on",
        ),
    )

    @property
    def is_open(self) -> bool:
        """Whether the case still waits for work."""
        return self.status not in (CaseStatus.CLOSED, CaseStatus.DECLINED)

    def is_overdue(self, today: dt.date) -> bool:
        """Past its deadline (限时办结) and still open."""
        return self.is_open and self.deadline_on is not None and self.deadline_on < today


class Party(Base):
    """A party to a case: applicant, respondent, or an agent of one of them.

    ``id_number`` is stored (it identifies the person to the court) but never shown unmasked.
    ``link_token_hash`` is the SHA-256 of the party's personal link token; the token itself is
    shown once and never stored.
    """

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[PartyRole] = mapped_column(EnumString(PartyRole, 16))
    represents_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    name: Mapped[str] = mapped_column(String(100), index=True)
    id_number: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    link_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    case: Mapped[Case] = relationship(back_populates="parties")


class CaseNumberCounter(Base):
    """The last sequence number given per numbering organisation and year."""

    __tablename__ = "case_number_counters"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("org_id", "year"),)
