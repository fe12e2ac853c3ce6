"""Scheduling a hearing of a case, and finding the hearings a staff member may manage."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import StaffPrincipal
from server.db import Case, Hearing, HearingParticipant, Party, Staff
from server.db.base import utcnow
from server.errors import Conflict, FieldError, InvalidInput, NotFound
from server.hearings.invitations import IssuedLink, issue
from server.hearings.vocabulary import HearingKind, ParticipantKind, ParticipantRole
from server.schemas.hearings import ParticipantIn, ScheduleRequest
from server.vocabulary import CaseStatus, Role
from server.workflow.timeline import record

# Mediators, supervisors and administrators schedule for the cases in their scope; a judge
# for the cases sent to their court (``case_scope`` already says which cases those are).
SCHEDULING_ROLES = (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.JUDGE)

# Which staff roles may hold which seat. Interpreters and observers may be anyone.
_CENTRE_STAFF = frozenset({Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR})
STAFF_SEATS: dict[ParticipantRole, frozenset[Role]] = {
    ParticipantRole.MEDIATOR: _CENTRE_STAFF,
    ParticipantRole.CO_MEDIATOR: _CENTRE_STAFF,
    ParticipantRole.JUDGE: frozenset({Role.JUDGE}),
    ParticipantRole.COURT_CLERK: frozenset({Role.COURT_CLERK}),
    ParticipantRole.DEPARTMENT_LIAISON: frozenset({Role.DEPARTMENT_LIAISON}),
    ParticipantRole.INTERPRETER: frozenset(Role),
    ParticipantRole.OBSERVER: frozenset(Role),
}
# Seats an outside person or a group device may hold: nobody without an account presides,
# and the parties come from the case record.
OUTSIDE_SEATS = frozenset(
    {
        ParticipantRole.AGENT,
        ParticipantRole.CO_MEDIATOR,
        ParticipantRole.DEPARTMENT_LIAISON,
        ParticipantRole.INTERPRETER,
        ParticipantRole.OBSERVER,
    }
)
GROUP_SEATS = frozenset(
    {
        ParticipantRole.APPLICANT,
        ParticipantRole.RESPONDENT,
        ParticipantRole.AGENT,
        ParticipantRole.DEPARTMENT_LIAISON,
        ParticipantRole.OBSERVER,
    }
)
# The seat that presides over each kind of hearing must be filled.
PRESIDING_SEAT: dict[HearingKind, ParticipantRole] = {
    HearingKind.MEDIATION: ParticipantRole.MEDIATOR,
    HearingKind.CONSULTATION: ParticipantRole.MEDIATOR,
    HearingKind.CONFIRMATION_HEARING: ParticipantRole.JUDGE,
}
# A hearing may be set a little in the past (it is starting now), not yesterday.
START_GRACE = dt.timedelta(hours=1)
MAX_AHEAD = dt.timedelta(days=366)
MAX_LINK_LIFETIME = dt.timedelta(days=31)


def default_expiry(starts_at: dt.datetime, timezone: str) -> dt.datetime:
    """The end of the day after the hearing's day, on the centre's calendar: a link still works
    if the hearing runs late or is continued the next day, and not for long after."""
    zone = ZoneInfo(timezone)
    day = starts_at.astimezone(zone).date()
    return dt.datetime.combine(day + dt.timedelta(days=2), dt.time(0), tzinfo=zone).astimezone(
        dt.UTC
    )


def check_expiry(expires_at: dt.datetime, starts_at: dt.datetime, field: str) -> None:
    """Refuse a link lifetime that has already ended or reaches too far past the hearing."""
    if expires_at <= utcnow() or expires_at > starts_at + MAX_LINK_LIFETIME:
        raise InvalidInput(fields={field: FieldError("field.hearing_link_expiry")})


def kind_allowed(who: StaffPrincipal, kind: HearingKind) -> bool:
    """Whether ``who`` may schedule a hearing of ``kind``: a confirmation hearing is the
    court's, and a judge holds only those."""
    return (kind == HearingKind.CONFIRMATION_HEARING) == (who.role == Role.JUDGE)


async def schedule(
    db: AsyncSession,
    who: StaffPrincipal,
    case_id: int,
    req: ScheduleRequest,
    *,
    timezone: str,
    issue_links: bool = True,
) -> tuple[Hearing, list[IssuedLink]]:
    """Schedule a hearing of a case in ``who``'s scope; returns it and, with ``issue_links``,
    every participant's new invitation link (the only time the tokens are known)."""
    require_role(who, *SCHEDULING_ROLES)
    case = await case_in_scope(db, who, case_id)
    if case.status in (CaseStatus.SUBMITTED, CaseStatus.DECLINED) or (
        case.status == CaseStatus.CLOSED and req.kind != HearingKind.CONFIRMATION_HEARING
    ):
        raise Conflict()
    if not kind_allowed(who, req.kind):
        raise InvalidInput(fields={"kind": FieldError("field.hearing_kind_not_allowed")})
    now = utcnow()
    if req.starts_at < now - START_GRACE or req.starts_at > now + MAX_AHEAD:
        raise InvalidInput(fields={"starts_at": FieldError("field.hearing_start")})
    expires_at = req.invitation_expires_at or default_expiry(req.starts_at, timezone)
    check_expiry(expires_at, req.starts_at, "invitation_expires_at")
    seats = await _seats(db, case, req.participants)
    if not any(seat.role == PRESIDING_SEAT[req.kind] for seat in seats):
        needs = (
            "field.hearing_needs_judge"
            if PRESIDING_SEAT[req.kind] == ParticipantRole.JUDGE
            else "field.hearing_needs_mediator"
        )
        raise InvalidInput(fields={"participants": FieldError(needs)})
    hearing = Hearing(
        case_id=case.id,
        kind=req.kind,
        starts_at=req.starts_at.astimezone(dt.UTC),
        duration_minutes=req.duration_minutes,
        note=req.note,
        created_by_id=who.staff_id,
        created_at=now,
    )
    db.add(hearing)
    await db.flush()
    for seat in seats:
        seat.hearing_id = hearing.id
        db.add(seat)
    await db.flush()
    await db.refresh(hearing, ["participants"])
    links = (
        [await issue(db, seat, expires_at=expires_at, by_staff_id=who.staff_id) for seat in seats]
        if issue_links
        else []
    )
    await record(
        db,
        case,
        "hearing_scheduled",
        actor_id=who.staff_id,
        hearing_id=hearing.id,
        hearing_kind=req.kind.value,
        starts_at=hearing.starts_at.isoformat(),
        participants=[{"name": s.name, "role": str(s.role)} for s in seats],
    )
    return hearing, links


async def _seats(
    db: AsyncSession, case: Case, wanted: list[ParticipantIn]
) -> list[HearingParticipant]:
    """Participant rows for ``wanted``, each checked against the case and the staff table."""
    parties: dict[int, Party] = {p.id: p for p in case.parties}
    seats: list[HearingParticipant] = []
    seen_parties: set[int] = set()
    seen_staff: set[int] = set()
    for index, item in enumerate(wanted):
        where = f"participants.{index}"
        seat = HearingParticipant(role=item.role, kind=item.kind, do_not_record=False)
        if item.kind == ParticipantKind.PARTY:
            assert item.party_id is not None
            party = parties.get(item.party_id)
            if party is None or item.party_id in seen_parties:
                raise InvalidInput(fields={f"{where}.party_id": FieldError("field.hearing_party")})
            if str(party.role) != str(item.role):
                raise InvalidInput(fields={f"{where}.role": FieldError("field.hearing_seat_role")})
            seen_parties.add(party.id)
            seat.party_id = party.id
            seat.name = party.name
        elif item.kind == ParticipantKind.STAFF:
            assert item.staff_id is not None
            member = await db.get(Staff, item.staff_id)
            if member is None or not member.active or item.staff_id in seen_staff:
                raise InvalidInput(fields={f"{where}.staff_id": FieldError("field.hearing_staff")})
            if member.role not in STAFF_SEATS.get(item.role, frozenset()):
                raise InvalidInput(fields={f"{where}.role": FieldError("field.hearing_seat_role")})
            seen_staff.add(member.id)
            seat.staff_id = member.id
            seat.name = member.display_name
        else:
            allowed = OUTSIDE_SEATS if item.kind == ParticipantKind.GUEST else GROUP_SEATS
            if item.role not in allowed:
                raise InvalidInput(fields={f"{where}.role": FieldError("field.hearing_seat_role")})
            seat.name = item.name
            seat.headcount = item.headcount
        seats.append(seat)
    return seats


async def hearing_in_scope(db: AsyncSession, who: StaffPrincipal, hearing_id: int) -> Hearing:
    """The hearing, if ``who`` may see its case; otherwise :class:`NotFound`."""
    hearing = await db.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound()
    await case_in_scope(db, who, hearing.case_id)
    return hearing


async def manageable_hearing(db: AsyncSession, who: StaffPrincipal, hearing_id: int) -> Hearing:
    """A hearing whose links ``who`` may issue and revoke: in scope, and a scheduling role."""
    hearing = await hearing_in_scope(db, who, hearing_id)
    require_role(who, *SCHEDULING_ROLES)
    return hearing


async def hearings_of_case(db: AsyncSession, who: StaffPrincipal, case_id: int) -> list[Hearing]:
    """A case's hearings, newest first (the case must be in ``who``'s scope)."""
    case = await case_in_scope(db, who, case_id)
    rows = await db.execute(
        select(Hearing)
        .where(Hearing.case_id == case.id)
        .order_by(Hearing.starts_at.desc(), Hearing.id.desc())
    )
    return list(rows.scalars())


async def seat_of(db: AsyncSession, hearing: Hearing, participant_id: int) -> HearingParticipant:
    """A participant of ``hearing``; anything else is not found."""
    seat = await db.get(HearingParticipant, participant_id)
    if seat is None or seat.hearing_id != hearing.id:
        raise NotFound()
    return seat
