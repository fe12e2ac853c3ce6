"""统一受理 and 登记: accepting a dispute at the one window and registering it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import StaffPrincipal
from server.auth.tokens import new_token, token_hash
from server.db import Case, Organisation, Party
from server.db.base import subtree_range, utcnow
from server.errors import Conflict, FieldError, InvalidInput
from server.schemas.cases import AcceptRequest, DeclineRequest, IntakeRequest, RegisterRequest
from server.vocabulary import CENTRE_KINDS, CaseStatus, OrgKind, Role
from server.workflow.deadlines import apply_deadline
from server.workflow.numbering import next_case_number
from server.workflow.orgs import nearest_centre, org_by_code
from server.workflow.timeline import record

INTAKE_ROLES = (Role.INTAKE_CLERK, Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR)


async def _intake_centre(
    db: AsyncSession, who: StaffPrincipal, centre_code: str | None
) -> Organisation:
    if centre_code is None:
        return await nearest_centre(db, who.org_id)
    centre = await org_by_code(db, centre_code)
    low, high = subtree_range(who.org_path)
    if centre is None or centre.kind not in CENTRE_KINDS or not low <= centre.path < high:
        raise InvalidInput(fields={"centre_code": FieldError("field.unknown_org")})
    return centre


def place_at_centre(case: Case, centre: Organisation) -> None:
    """Make ``centre`` the handling centre (and scope) of ``case``."""
    case.centre_id = centre.id
    case.scope_path = centre.path


async def intake(
    db: AsyncSession, who: StaffPrincipal, req: IntakeRequest, today: dt.date
) -> tuple[Case, dict[int, str]]:
    """Accept a dispute; returns the case and each party's one-time personal link token."""
    require_role(who, *INTAKE_ROLES)
    centre = await _intake_centre(db, who, req.centre_code)
    case = Case(
        status=CaseStatus.ACCEPTED,
        channel=req.channel,
        lane=req.lane,
        title=req.title,
        facts=req.facts,
        claims=req.claims,
        accepted_on=today,
        accepted_at=utcnow(),
        first_receiver_id=who.staff_id,
    )
    place_at_centre(case, centre)
    if who.role == Role.MEDIATOR:
        # A mediator's scope is their own cases and their room: the dispute they took in
        # stays with them, or they could not see it again.
        case.mediator_id = who.staff_id
        if who.org_kind == OrgKind.MEDIATION_ROOM:
            case.room_id = who.org_id
    db.add(case)
    await db.flush()
    tokens = await add_parties(db, case, req)
    await record(
        db,
        case,
        "accepted",
        actor_id=who.staff_id,
        channel=req.channel.value,
        centre=centre.code,
        first_receiver=who.display_name,
    )
    if req.dispute_type is not None:
        await register(db, who, case, RegisterRequest(dispute_type=req.dispute_type, lane=req.lane))
    else:
        await apply_deadline(db, case)
    return case, tokens


async def add_parties(db: AsyncSession, case: Case, req: IntakeRequest) -> dict[int, str]:
    """Create the parties of ``req``; returns ``{party id: link token}``."""
    created: list[Party] = []
    tokens: dict[int, str] = {}
    for item in req.parties:
        token = new_token()
        party = Party(
            case_id=case.id,
            role=item.role,
            name=item.name,
            id_number=item.id_number,
            phone=item.phone,
            address=item.address,
            link_token_hash=token_hash(token),
        )
        db.add(party)
        created.append(party)
        await db.flush()
        tokens[party.id] = token
    for item, party in zip(req.parties, created, strict=True):
        if item.represents is not None:
            party.represents_id = created[item.represents].id
    await db.refresh(case, ["parties"])
    return tokens


async def register(db: AsyncSession, who: StaffPrincipal, case: Case, req: RegisterRequest) -> Case:
    """登记: type and number; the time limit follows from lane and type."""
    require_role(who, *INTAKE_ROLES)
    if case.status != CaseStatus.ACCEPTED:
        raise Conflict()
    centre = await db.get(Organisation, case.centre_id)
    assert centre is not None
    case.dispute_type = req.dispute_type
    if req.lane is not None:
        case.lane = req.lane
    case.number = await next_case_number(db, centre, case.accepted_on.year)
    case.status = CaseStatus.REGISTERED
    case.registered_at = utcnow()
    await apply_deadline(db, case)
    await record(
        db,
        case,
        "registered",
        actor_id=who.staff_id,
        number=case.number,
        dispute_type=str(case.dispute_type),
        lane=str(case.lane),
        deadline_on=case.deadline_on.isoformat() if case.deadline_on else None,
    )
    return case


async def register_by_id(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: RegisterRequest
) -> Case:
    """:func:`register` for a case in ``who``'s scope."""
    return await register(db, who, await case_in_scope(db, who, case_id, for_update=True), req)


async def accept_submission(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: AcceptRequest, today: dt.date
) -> Case:
    """Accept a citizen's online submission at the window (首问负责: the acceptor is recorded)."""
    require_role(who, *INTAKE_ROLES)
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status != CaseStatus.SUBMITTED:
        raise Conflict()
    case.status = CaseStatus.ACCEPTED
    case.first_receiver_id = who.staff_id
    case.lane = req.lane
    await record(
        db,
        case,
        "accepted",
        actor_id=who.staff_id,
        channel=str(case.channel),
        first_receiver=who.display_name,
    )
    if req.dispute_type is not None:
        await register(db, who, case, RegisterRequest(dispute_type=req.dispute_type, lane=req.lane))
    else:
        await apply_deadline(db, case)
    return case


async def decline_submission(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: DeclineRequest
) -> Case:
    """Do not accept an online submission; the citizen sees the reason on their page."""
    require_role(who, *INTAKE_ROLES)
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status != CaseStatus.SUBMITTED:
        raise Conflict()
    case.status = CaseStatus.DECLINED
    case.closed_at = utcnow()
    case.outcome_note = req.reason
    await record(db, case, "declined", actor_id=who.staff_id, reason=req.reason)
    return case
