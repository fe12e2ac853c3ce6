"""Hearing requests and the hearing as the API returns it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from server.hearings.vocabulary import (
    HearingKind,
    IdentityMethod,
    IdentityOutcome,
    InvitationState,
    ParticipantKind,
    ParticipantRole,
    RevocationReason,
)
from server.validation import Body, DbId, IdNumber

MAX_PARTICIPANTS = 30


class ParticipantIn(Body):
    """One seat: a party of the case (``party_id``), a staff member (``staff_id``), a named outside
    person (``name``), or a group device (``name`` is its label, e.g. "东关村调解室（3人）")."""

    kind: ParticipantKind
    role: ParticipantRole
    party_id: DbId | None = None
    staff_id: DbId | None = None
    name: str = Field(default="", max_length=100)
    headcount: int | None = Field(default=None, ge=1, le=200)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ParticipantIn:
        wants = {
            ParticipantKind.PARTY: (self.party_id is not None, self.staff_id is None),
            ParticipantKind.STAFF: (self.staff_id is not None, self.party_id is None),
            ParticipantKind.GUEST: (bool(self.name), self.party_id is None and not self.staff_id),
            ParticipantKind.GROUP: (bool(self.name), self.party_id is None and not self.staff_id),
        }[self.kind]
        if not all(wants):
            raise ValueError("field.hearing_participant_fields")
        if self.headcount is not None and self.kind != ParticipantKind.GROUP:
            raise ValueError("field.hearing_participant_fields")
        return self


class ScheduleRequest(Body):
    """Schedule a hearing of a case, with its participants. Each participant gets a personal
    invitation link, valid until ``invitation_expires_at`` (by default the end of the day after
    the hearing's day, on the centre's calendar)."""

    kind: HearingKind
    starts_at: AwareDatetime
    duration_minutes: int = Field(default=60, ge=10, le=600)
    note: str = Field(default="", max_length=1000)
    invitation_expires_at: AwareDatetime | None = None
    participants: list[ParticipantIn] = Field(min_length=1, max_length=MAX_PARTICIPANTS)


class ReissueRequest(Body):
    """Issue a participant a new link (the old one stops working at once)."""

    expires_at: AwareDatetime | None = None


class IdentityDeclarationRequest(Body):
    """A party declares who they are when joining."""

    name: str = Field(min_length=1, max_length=100)
    id_number: Annotated[IdNumber, Field(min_length=18)]


class IdentityCheckRequest(Body):
    """The presiding participant's check, on camera, of a participant's declared identity."""

    method: IdentityMethod
    outcome: IdentityOutcome = IdentityOutcome.CONFIRMED
    note: str = Field(default="", max_length=500)


class ConsentRequest(Body):
    """A participant's answer to the recording notice of ``notice_version``."""

    notice_version: str = Field(min_length=1, max_length=32)
    given: bool


class InvitationOut(BaseModel):
    """Where a participant's newest invitation link stands (never the token)."""

    state: InvitationState
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: RevocationReason | None
    first_used_at: dt.datetime | None
    last_used_at: dt.datetime | None


class IdentityCheckOut(BaseModel):
    """A recorded identity check."""

    method: IdentityMethod
    outcome: IdentityOutcome
    note: str
    at: dt.datetime
    checked_by: str


class IdentityOut(BaseModel):
    """A participant's newest declaration (ID number masked) and newest check."""

    declared_name: str | None
    id_number_masked: str | None
    declared_at: dt.datetime | None
    # Whether the declared ID number is the one on the case's party record (None: nothing to
    # compare, e.g. the record has no ID number).
    matches_case_record: bool | None
    check: IdentityCheckOut | None


class ConsentOut(BaseModel):
    """A participant's newest answer to the recording notice."""

    given: bool
    notice_version: str
    at: dt.datetime


class ParticipantOut(BaseModel):
    """A seat in a hearing, with its link's state, identity and consent."""

    id: int
    role: ParticipantRole
    kind: ParticipantKind
    name: str
    party_id: int | None
    staff_id: int | None
    headcount: int | None
    do_not_record: bool
    invitation: InvitationOut
    identity: IdentityOut
    consent: ConsentOut | None


class HearingSummary(BaseModel):
    """A hearing in a list."""

    id: int
    case_id: int
    kind: HearingKind
    starts_at: dt.datetime
    ends_at: dt.datetime
    participant_count: int


class HearingDetail(HearingSummary):
    """A hearing in full."""

    case_number: str | None
    case_title: str
    duration_minutes: int
    note: str
    created_at: dt.datetime
    participants: list[ParticipantOut]


class IssuedLinkOut(BaseModel):
    """A freshly issued invitation link: shown now, never again (reissue to show another)."""

    participant_id: int
    role: ParticipantRole
    name: str
    url: str
    expires_at: dt.datetime


class ScheduleResult(BaseModel):
    """The scheduled hearing and every participant's link."""

    hearing: HearingDetail
    links: list[IssuedLinkOut]


class NoticeOut(BaseModel):
    """The recording notice a participant is asked to consent to."""

    version: str
    locale: str
    text: str
    sha256: str


class JoinInfo(BaseModel):
    """What a participant who came in through their link may know about their seat."""

    participant_id: int
    hearing_id: int
    case_id: int
    kind: HearingKind
    starts_at: dt.datetime
    name: str
    role: ParticipantRole
    presiding: bool
    identity_declared: bool
    consent: ConsentOut | None
