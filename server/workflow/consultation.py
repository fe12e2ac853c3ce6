"""中心吹哨、部门报到: the centre summons departments; each liaison reports by a deadline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, org_reachable, require_role
from server.auth.principal import StaffPrincipal
from server.db import Case, Consultation, Organisation, Summons
from server.db.base import utcnow
from server.errors import Conflict, FieldError, InvalidInput, NotFound
from server.schemas.cases import ConsultationRequest, SummonsReply
from server.vocabulary import CaseStatus, OrgKind, Role
from server.workflow.orgs import require_kind
from server.workflow.timeline import record


async def convene(
    db: AsyncSession, who: StaffPrincipal, case_id: int, req: ConsultationRequest, today: dt.date
) -> Consultation:
    """Summon departments to a case with a topic and a report-by date."""
    require_role(who, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.INTAKE_CLERK)
    case = await case_in_scope(db, who, case_id)
    if not case.is_open or case.status in (CaseStatus.SUBMITTED,):
        raise Conflict()
    if req.respond_by < today:
        raise InvalidInput(fields={"respond_by": FieldError("field.date_in_past")})
    departments: list[Organisation] = []
    for index, code in enumerate(req.department_codes):
        if any(d.code == code for d in departments):
            continue
        # The position the client sent, so the message lands on the right entry.
        field = f"department_codes.{index}"
        department = await require_kind(db, code, (OrgKind.DEPARTMENT,), field)
        if not org_reachable(who, department):
            # A summons lets the department see the case: never another county's.
            raise InvalidInput(fields={field: FieldError("field.unknown_org")})
        departments.append(department)
    consultation = Consultation(
        case_id=case.id,
        convened_at=utcnow(),
        convened_by_id=who.staff_id,
        topic=req.topic,
        respond_by=req.respond_by,
    )
    db.add(consultation)
    await db.flush()
    for department in departments:
        db.add(Summons(consultation_id=consultation.id, department_id=department.id))
    await db.flush()
    await db.refresh(consultation, ["summonses"])
    await record(
        db,
        case,
        "consultation_convened",
        actor_id=who.staff_id,
        topic=req.topic,
        departments=[d.name for d in departments],
        respond_by=req.respond_by.isoformat(),
    )
    return consultation


async def reply(
    db: AsyncSession,
    who: StaffPrincipal,
    summons_id: int,
    req: SummonsReply,
    today: dt.date | None = None,
) -> Summons:
    """A department liaison reports on their department's summons.

    ``today`` is the centre's calendar date (``RequestContext.today``); the report-by date is
    on that calendar, not UTC's, so a report at 07:00 Beijing time is not a day early.
    """
    require_role(who, Role.DEPARTMENT_LIAISON)
    # Lock only the summons row: its consultation is eager-loaded by an outer join, and
    # PostgreSQL refuses FOR UPDATE on the nullable side of one.
    summons = await db.get(Summons, summons_id, with_for_update={"of": Summons})
    if summons is None or summons.department_id != who.org_id:
        raise NotFound()
    if summons.responded_at is not None:
        raise Conflict()
    consultation = summons.consultation
    summons.response = req.response
    summons.responded_at = utcnow()
    summons.responder_id = who.staff_id
    late = (today or summons.responded_at.date()) > consultation.respond_by
    summons.status = "late" if late else "reported"
    case = await db.get(Case, consultation.case_id)
    assert case is not None
    await record(
        db,
        case,
        "department_reported",
        actor_id=who.staff_id,
        department=who.org_name,
        response=req.response,
        late=late,
    )
    return summons


async def queue_for_department(db: AsyncSession, department_id: int) -> list[Summons]:
    """Summonses of a department, unanswered first, then newest."""
    rows = await db.execute(
        select(Summons)
        .where(Summons.department_id == department_id)
        .order_by(Summons.responded_at.is_not(None), Summons.id.desc())
        .limit(200)
    )
    return list(rows.scalars())
