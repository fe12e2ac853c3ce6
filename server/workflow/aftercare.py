"""群众评价 and 定期回访: ratings by the parties, follow-up visits by staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import PartyPrincipal, StaffPrincipal
from server.auth.sessions import staff_principal
from server.db import Case, FollowUp, Party, Rating, Staff
from server.db.base import utcnow
from server.errors import Conflict, FieldError, InvalidInput, NotFound
from server.schemas.cases import FollowUpRequest, FollowUpResultRequest, RatingRequest
from server.vocabulary import CaseStatus, PartyRole, Role
from server.workflow.timeline import record

FOLLOW_UP_ROLES = (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.INTAKE_CLERK)


async def rate(db: AsyncSession, who: PartyPrincipal, req: RatingRequest) -> Rating:
    """A party rates their closed case, once."""
    case = await db.get(Case, who.case_id)
    party = await db.get(Party, who.party_id)
    if case is None or party is None:
        raise NotFound()
    if case.status != CaseStatus.CLOSED:
        raise Conflict("error.rating_before_closure")
    if party.role == PartyRole.AGENT:
        raise Conflict("error.rating_by_agent")
    existing = (
        await db.execute(
            select(Rating).where(Rating.case_id == case.id, Rating.party_id == party.id)
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict("error.already_rated")
    rating = Rating(
        case_id=case.id, party_id=party.id, score=req.score, comment=req.comment, at=utcnow()
    )
    db.add(rating)
    await record(db, case, "rated", actor_label=party.name, score=req.score, comment=req.comment)
    return rating


async def schedule_follow_up(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: FollowUpRequest
) -> FollowUp:
    """Schedule a follow-up visit after closure."""
    require_role(who, *FOLLOW_UP_ROLES)
    case = await case_in_scope(db, who, case_id)
    if case.status != CaseStatus.CLOSED:
        raise Conflict()
    if case.closed_on is not None and req.due_on < case.closed_on:
        raise InvalidInput(fields={"due_on": FieldError("field.date_before_closure")})
    assignee_id = req.assignee_id or who.staff_id
    assignee = await db.get(Staff, assignee_id)
    # The visitor must be able to record the visit: a follow-up role, and the case in their
    # scope (an id from another county is answered like an unknown one).
    if (
        assignee is None
        or not assignee.active
        or assignee.role not in FOLLOW_UP_ROLES
        or not await _can_see(db, staff_principal(assignee), case.id)
    ):
        raise InvalidInput(fields={"assignee_id": FieldError("field.unknown_staff")})
    follow_up = FollowUp(
        case_id=case.id, due_on=req.due_on, assignee_id=assignee.id, scheduled_by_id=who.staff_id
    )
    db.add(follow_up)
    await db.flush()
    await record(
        db,
        case,
        "follow_up_scheduled",
        actor_id=who.staff_id,
        follow_up_id=follow_up.id,
        due_on=req.due_on.isoformat(),
        assignee=assignee.display_name,
    )
    return follow_up


async def _can_see(db: AsyncSession, who: StaffPrincipal, case_id: int) -> bool:
    try:
        await case_in_scope(db, who, case_id)
    except NotFound:
        return False
    return True


async def record_follow_up(
    db: AsyncSession, who: StaffPrincipal, follow_up_id: int, req: FollowUpResultRequest
) -> FollowUp:
    """Record what a follow-up visit found (the assignee, or a supervisor in scope)."""
    require_role(who, *FOLLOW_UP_ROLES)
    follow_up = await db.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None:
        raise NotFound()
    case = await case_in_scope(db, who, follow_up.case_id)
    if follow_up.visited_at is not None:
        raise Conflict()
    follow_up.visited_at = utcnow()
    follow_up.result = req.result
    follow_up.note = req.note
    await record(
        db,
        case,
        "follow_up_done",
        actor_id=who.staff_id,
        follow_up_id=follow_up.id,
        result=req.result.value,
        note=req.note,
    )
    return follow_up
