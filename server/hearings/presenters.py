"""Hearings as the API and the pages show them (ID numbers masked, tokens never)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import (
    Case,
    Hearing,
    HearingParticipant,
    IdentityCheck,
    IdentityDeclaration,
    Party,
    RecordingConsent,
)
from server.hearings.invitations import InvitationStatus, IssuedLink, statuses
from server.hearings.vocabulary import PRESIDING_ROLES
from server.schemas.hearings import (
    ConsentOut,
    HearingDetail,
    HearingSummary,
    IdentityCheckOut,
    IdentityOut,
    InvitationOut,
    IssuedLinkOut,
    JoinInfo,
    ParticipantOut,
)
from server.validation import mask_id_number


def join_url(base_url: str, token: str) -> str:
    """The invitation link carrying ``token``."""
    return f"{base_url.rstrip('/')}/join/{token}"


def hearing_summary(hearing: Hearing) -> HearingSummary:
    """A hearing in a list."""
    return HearingSummary(
        id=hearing.id,
        case_id=hearing.case_id,
        kind=hearing.kind,
        starts_at=hearing.starts_at,
        ends_at=hearing.ends_at,
        participant_count=len(hearing.participants),
    )


def invitation_out(status: InvitationStatus) -> InvitationOut:
    """A link's state for the API."""
    return InvitationOut(
        state=status.state,
        expires_at=status.expires_at,
        revoked_at=status.revoked_at,
        revoke_reason=status.revoke_reason,
        first_used_at=status.first_used_at,
        last_used_at=status.last_used_at,
    )


def consent_out(consent: RecordingConsent | None) -> ConsentOut | None:
    """An answer to the recording notice for the API."""
    if consent is None:
        return None
    return ConsentOut(given=consent.given, notice_version=consent.notice_version, at=consent.at)


_Row = TypeVar("_Row", IdentityDeclaration, IdentityCheck, RecordingConsent)


async def _newest(db: AsyncSession, model: type[_Row], seat_ids: list[int]) -> dict[int, _Row]:
    rows = await db.execute(
        select(model).where(model.participant_id.in_(seat_ids)).order_by(model.id.desc())
    )
    newest: dict[int, _Row] = {}
    for row in rows.scalars():
        newest.setdefault(row.participant_id, row)
    return newest


async def participants_out(
    db: AsyncSession, seats: Sequence[HearingParticipant]
) -> list[ParticipantOut]:
    """Every seat with its link's state, identity and consent, in a few queries."""
    ids = [s.id for s in seats]
    links = await statuses(db, list(seats))
    declarations = await _newest(db, IdentityDeclaration, ids)
    checks = await _newest(db, IdentityCheck, ids)
    consents = await _newest(db, RecordingConsent, ids)
    names = {s.id: s.name for s in seats}
    checkers = {c.checked_by_participant_id for c in checks.values()} - names.keys()
    if checkers:
        rows = await db.execute(
            select(HearingParticipant.id, HearingParticipant.name).where(
                HearingParticipant.id.in_(checkers)
            )
        )
        names.update({seat_id: name for seat_id, name in rows.all()})
    party_ids = [s.party_id for s in seats if s.party_id is not None]
    recorded_ids: dict[int, str] = {}
    if party_ids:
        rows = await db.execute(select(Party.id, Party.id_number).where(Party.id.in_(party_ids)))
        recorded_ids = {pid: number for pid, number in rows.all()}
    out: list[ParticipantOut] = []
    for seat in seats:
        declaration = declarations.get(seat.id)
        check = checks.get(seat.id)
        on_record = recorded_ids.get(seat.party_id or 0, "")
        out.append(
            ParticipantOut(
                id=seat.id,
                role=seat.role,
                kind=seat.kind,
                name=seat.name,
                party_id=seat.party_id,
                staff_id=seat.staff_id,
                headcount=seat.headcount,
                do_not_record=seat.do_not_record,
                invitation=invitation_out(links[seat.id]),
                identity=IdentityOut(
                    declared_name=declaration.name if declaration else None,
                    id_number_masked=mask_id_number(declaration.id_number) if declaration else None,
                    declared_at=declaration.declared_at if declaration else None,
                    matches_case_record=declaration.id_number == on_record
                    if declaration and on_record
                    else None,
                    check=IdentityCheckOut(
                        method=check.method,
                        outcome=check.outcome,
                        note=check.note,
                        at=check.at,
                        checked_by=names.get(check.checked_by_participant_id, ""),
                    )
                    if check
                    else None,
                ),
                consent=consent_out(consents.get(seat.id)),
            )
        )
    return out


async def hearing_detail(db: AsyncSession, hearing: Hearing) -> HearingDetail:
    """A hearing in full."""
    await db.refresh(hearing, ["participants"])
    case = await db.get(Case, hearing.case_id)
    assert case is not None
    return HearingDetail(
        **hearing_summary(hearing).model_dump(),
        case_number=case.number,
        case_title=case.title,
        duration_minutes=hearing.duration_minutes,
        note=hearing.note,
        created_at=hearing.created_at,
        participants=await participants_out(db, hearing.participants),
    )


def issued_links_out(
    base_url: str, hearing: Hearing, links: Sequence[IssuedLink]
) -> list[IssuedLinkOut]:
    """Freshly issued links with their seats' names and roles."""
    seats = {s.id: s for s in hearing.participants}
    return [
        IssuedLinkOut(
            participant_id=link.participant_id,
            role=seats[link.participant_id].role,
            name=seats[link.participant_id].name,
            url=join_url(base_url, link.token),
            expires_at=link.expires_at,
        )
        for link in links
    ]


async def join_info(db: AsyncSession, seat: HearingParticipant, hearing: Hearing) -> JoinInfo:
    """What the person in ``seat`` is told about their place in the hearing."""
    declarations = await _newest(db, IdentityDeclaration, [seat.id])
    consents = await _newest(db, RecordingConsent, [seat.id])
    return JoinInfo(
        participant_id=seat.id,
        hearing_id=hearing.id,
        case_id=hearing.case_id,
        kind=hearing.kind,
        starts_at=hearing.starts_at,
        name=seat.name,
        role=seat.role,
        presiding=seat.role in PRESIDING_ROLES,
        identity_declared=seat.id in declarations,
        consent=consent_out(consents.get(seat.id)),
    )
