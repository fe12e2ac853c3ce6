"""督办: supervisors' notes on cases, above all overdue ones."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import StaffPrincipal
from server.db import Case, Supervision
from server.db.base import utcnow
from server.schemas.cases import SupervisionRequest
from server.vocabulary import Role
from server.workflow.timeline import record


async def supervise(
    db: AsyncSession,
    who: StaffPrincipal,
    case_id: int,
    req: SupervisionRequest,
    today: dt.date | None = None,
) -> Case:
    """Add a supervision note (with an optional report-by date) to a case in scope.

    ``today`` is the centre's calendar date, against which the case's deadline is set.
    """
    require_role(who, Role.SUPERVISOR, Role.ADMINISTRATOR)
    case = await case_in_scope(db, who, case_id)
    db.add(
        Supervision(
            case_id=case.id,
            at=utcnow(),
            by_id=who.staff_id,
            note=req.note,
            respond_by=req.respond_by,
        )
    )
    await record(
        db,
        case,
        "supervised",
        actor_id=who.staff_id,
        note=req.note,
        respond_by=req.respond_by.isoformat() if req.respond_by else None,
        overdue=case.is_overdue(today or utcnow().date()),
    )
    return case
