"""Hearings (live video sessions) of a case: participants, invitation links, identity checks
and consent to recording."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, EnumString, UtcDateTime, utcnow
from server.hearings.vocabulary import (
    HearingKind,
    IdentityMethod,
    IdentityOutcome,
    ParticipantKind,
    ParticipantRole,
    RevocationReason,
)


class Hearing(Base):
    """A scheduled video hearing of a case: a mediation, a joint consultation with the summoned
    departments, or a judicial confirmation hearing presided by a judge."""

    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[HearingKind] = mapped_column(EnumString(HearingKind, 32))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    participants: Mapped[list[HearingParticipant]] = relationship(
        back_populates="hearing", order_by="HearingParticipant.id", lazy="selectin"
    )

    __table_args__ = (Index("ix_hearings_starts_at", "starts_at"),)

    @property
    def ends_at(self) -> dt.datetime:
        """The planned end."""
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


class HearingParticipant(Base):
    """One seat in a hearing: a party of the case, a staff member, a named outside person, or a
    group (one device for several people, described by ``name``).

    ``name`` is copied from the party or staff record when scheduled, so the hearing's record
    says who was invited even if the record changes later. ``do_not_record`` is set when the
    participant declines consent to recording (see :class:`RecordingConsent`).
    """

    __tablename__ = "hearing_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), index=True)
    role: Mapped[ParticipantRole] = mapped_column(EnumString(ParticipantRole, 32))
    kind: Mapped[ParticipantKind] = mapped_column(EnumString(ParticipantKind, 16))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # How many people a group device stands for, when known.
    headcount: Mapped[int | None]
    do_not_record: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    hearing: Mapped[Hearing] = relationship(back_populates="participants")

    __table_args__ = (
        UniqueConstraint("hearing_id", "party_id", name="uq_hearing_participants_party"),
        UniqueConstraint("hearing_id", "staff_id", name="uq_hearing_participants_staff"),
    )


class Invitation(Base):
    """A participant's personal link. Only the SHA-256 of its token is stored: the token is shown
    when the link is issued and cannot be recovered afterwards (reissuing makes a new one).

    A participant has at most one usable invitation: issuing another revokes the earlier ones.
    """

    __tablename__ = "hearing_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("hearing_participants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    revoke_reason: Mapped[RevocationReason | None] = mapped_column(EnumString(RevocationReason, 16))
    first_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    # The live layer polls for revocations newer than the last it saw.
    __table_args__ = (Index("ix_hearing_invitations_revoked_at", "revoked_at"),)

    def usable(self, now: dt.datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and self.expires_at > now


class IdentityDeclaration(Base):
    """The name and ID number a participant declared when joining (the newest one counts).
    The ID number is stored because it identifies the person to the court; it is only ever shown
    masked."""

    __tablename__ = "hearing_identity_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_hearing_identity_declarations_participant"),
        index=True,
    )
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18))
    declared_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdentityCheck(Base):
    """The presiding participant's check of a declared identity, on camera. Append-only."""

    __tablename__ = "hearing_identity_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("hearing_participants.id"), index=True)
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "hearing_identity_declarations.id", name="fk_hearing_identity_checks_declaration"
        )
    )
    method: Mapped[IdentityMethod] = mapped_column(EnumString(IdentityMethod, 32))
    outcome: Mapped[IdentityOutcome] = mapped_column(EnumString(IdentityOutcome, 16))
    note: Mapped[str] = mapped_column(String(500), default="")
    checked_by_participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_hearing_identity_checks_checked_by")
    )
    checked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingConsent(Base):
    """A participant's answer to the recording notice: given or declined, with the version (and
    the SHA-256) of the notice text they were shown. Kept apart from identity data, append-only;
    the newest answer counts."""

    __tablename__ = "hearing_recording_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_hearing_recording_consents_participant"),
        index=True,
    )
    notice_version: Mapped[str] = mapped_column(String(32))
    notice_sha256: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    given: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
