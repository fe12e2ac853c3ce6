"""办结 and 办结反馈: closing a case with its outcome, and telling the parties."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import StaffPrincipal
from server.db import Case
from server.db.base import utcnow
from server.errors import Conflict, Forbidden
from server.schemas.cases import CloseRequest, FeedbackRequest
from server.vocabulary import CaseStatus, Role
from server.workflow.timeline import record

CLOSING_ROLES = (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR)
CLOSABLE = (CaseStatus.REGISTERED, CaseStatus.ROUTED, CaseStatus.MEDIATING)


async def close(
    db: AsyncSession,
    who: StaffPrincipal,
    case_id: int,
    req: CloseRequest,
    today: dt.date | None = None,
) -> Case:
    """Record the outcome: mediated, not mediated (and where it went next), or withdrawn.

    ``today`` is the centre's calendar date: the closing date is compared with the deadline
    and counted in the figures on that calendar, not UTC's.
    """
    require_role(who, *CLOSING_ROLES)
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status not in CLOSABLE:
        raise Conflict()
    now = utcnow()
    case.status = CaseStatus.CLOSED
    case.outcome = req.outcome
    case.next_step = req.next_step
    case.outcome_note = req.note
    case.closed_at = now
    case.closed_on = today or now.date()
    await record(
        db,
        case,
        "closed",
        actor_id=who.staff_id,
        outcome=req.outcome.value,
        next_step=req.next_step.value if req.next_step else None,
        note=req.note,
        overdue=case.deadline_on is not None and case.closed_on > case.deadline_on,
    )
    return case


async def give_feedback(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: FeedbackRequest
) -> Case:
    """Tell the parties how their case ended; they read it behind their link."""
    if who.role not in (*CLOSING_ROLES, Role.INTAKE_CLERK):
        raise Forbidden()
    case = await case_in_scope(db, who, case_id, for_update=True)
    if case.status != CaseStatus.CLOSED:
        raise Conflict()
    case.feedback_at = utcnow()
    case.feedback_note = req.note
    await record(db, case, "feedback_given", actor_id=who.staff_id, note=req.note)
    return case
