"""The mediation record (调解笔录) of a hearing: its statements, every saved version, and the
parties' confirmations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, UtcDateTime, utcnow
from server.documents.vocabulary import RecordStatus


class MediationRecord(Base):
    """The record of one hearing. ``version`` counts the saves that changed something (the
    autosave's optimistic lock); once signed off by the mediator it is frozen and
    ``document_id`` is the rendered 调解笔录."""

    __tablename__ = "mediation_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), unique=True)
    status: Mapped[RecordStatus] = mapped_column(EnumString(RecordStatus, 16))
    version: Mapped[int] = mapped_column(default=0)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    signed_off_by_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_mediation_records_signed_off_by_seat")
    )
    signed_off_by_name: Mapped[str] = mapped_column(String(100), default="")
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordStatement(Base):
    """One statement: who said it (a seat of the hearing, the mediator's included), what, when
    (wall clock) and where on the recording (``offset_ms`` on the session clock; null when
    nothing was being recorded). The stamps are the server's, set when the statement is first
    saved, and never change afterwards."""

    __tablename__ = "mediation_record_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("mediation_records.id"), index=True)
    position: Mapped[int]
    speaker_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_mediation_record_statements_speaker")
    )
    speaker_name: Mapped[str] = mapped_column(String(100))
    speaker_role: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    said_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordVersion(Base):
    """A saved state of the record: the full statements as JSON and its SHA-256. Append-only:
    history is never overwritten."""

    __tablename__ = "mediation_record_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("mediation_records.id"))
    version: Mapped[int]
    statements: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    saved_by_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_mediation_record_versions_saved_by_seat")
    )
    saved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("record_id", "version", name="uq_mediation_record_versions_version"),
    )


class RecordConfirmation(Base):
    """A party's confirmation, through their link, of the signed-off record: bound to the
    SHA-256 of the document they were shown. One per party."""

    __tablename__ = "mediation_record_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("mediation_records.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("record_id", "party_id", name="uq_mediation_record_confirmations_party"),
    )
