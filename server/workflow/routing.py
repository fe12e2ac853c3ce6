"""分流转办: routing a case to a centre, mediation room, department, court or mediator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, org_reachable, require_role
from server.auth.principal import StaffPrincipal
from server.db import Case, Organisation, Routing, Staff
from server.db.base import utcnow
from server.errors import Conflict, FieldError, InvalidInput
from server.schemas.cases import RouteRequest
from server.vocabulary import CENTRE_KINDS, CaseStatus, OrgKind, Role
from server.workflow.deadlines import apply_deadline
from server.workflow.intake import place_at_centre
from server.workflow.orgs import nearest_centre, require_kind
from server.workflow.timeline import record

ROUTING_ROLES = (Role.INTAKE_CLERK, Role.SUPERVISOR, Role.ADMINISTRATOR)
ROUTABLE = (CaseStatus.REGISTERED, CaseStatus.ROUTED, CaseStatus.MEDIATING)


async def route(db: AsyncSession, who: StaffPrincipal, case_id: int, req: RouteRequest) -> Case:
    """Send a registered case on, recording where from, where to and why."""
    require_role(who, *ROUTING_ROLES)
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status not in ROUTABLE:
        raise Conflict()
    from_centre = case.centre_id
    to_org: Organisation | None = None
    mediator: Staff | None = None
    if req.target == "mediator":
        mediator = await db.get(Staff, req.mediator_id)
        if (
            mediator is None
            or mediator.role != Role.MEDIATOR
            or not mediator.active
            or not org_reachable(who, mediator.org)
        ):
            raise InvalidInput(fields={"mediator_id": FieldError("field.unknown_mediator")})
        case.mediator_id = mediator.id
        if mediator.org.kind == OrgKind.MEDIATION_ROOM:
            case.room_id = mediator.org.id
        place_at_centre(case, await nearest_centre(db, mediator.org_id))
    else:
        assert req.org_code is not None
        kinds = {
            "centre": CENTRE_KINDS,
            "room": (OrgKind.MEDIATION_ROOM,),
            "department": (OrgKind.DEPARTMENT,),
            "court": (OrgKind.COURT,),
        }[req.target]
        to_org = await require_kind(db, req.org_code, kinds, "org_code")
        if not org_reachable(who, to_org):
            # Answered like an unknown code: the client learns nothing about other counties.
            raise InvalidInput(fields={"org_code": FieldError("field.unknown_org")})
        if req.target == "centre":
            place_at_centre(case, to_org)
            case.room_id = case.department_id = case.mediator_id = None
        elif req.target == "room":
            case.room_id = to_org.id
            case.mediator_id = None
            place_at_centre(case, await nearest_centre(db, to_org.id))
        elif req.target == "department":
            case.department_id = to_org.id
        else:
            case.court_id = to_org.id
    if req.lane is not None and req.lane != case.lane:
        case.lane = req.lane
        await apply_deadline(db, case)
    if case.status == CaseStatus.REGISTERED:
        case.status = CaseStatus.ROUTED
    db.add(
        Routing(
            case_id=case.id,
            at=utcnow(),
            by_id=who.staff_id,
            from_centre_id=from_centre,
            to_org_id=to_org.id if to_org else None,
            to_mediator_id=mediator.id if mediator else None,
            lane=case.lane,
            reason=req.reason,
        )
    )
    await record(
        db,
        case,
        "routed",
        actor_id=who.staff_id,
        target=req.target,
        to=to_org.name if to_org else (mediator.display_name if mediator else ""),
        to_code=to_org.code if to_org else None,
        reason=req.reason,
        lane=str(case.lane),
    )
    return case


async def start_mediation(db: AsyncSession, who: StaffPrincipal, case_id: int) -> Case:
    """The mediator takes the case up (调解中)."""
    require_role(who, Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR)
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status not in (CaseStatus.REGISTERED, CaseStatus.ROUTED):
        raise Conflict()
    if who.role == Role.MEDIATOR and case.mediator_id is None:
        case.mediator_id = who.staff_id
    case.status = CaseStatus.MEDIATING
    await record(db, case, "mediation_started", actor_id=who.staff_id)
    return case
