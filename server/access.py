"""Who may see which cases, and who may do what to them.

Scope follows the organisation tree: staff of a centre see the cases handled by that centre and
every centre below it; a mediator sees the cases assigned to them and to their room; a department
liaison sees the cases routed to the department or to which it was summoned; judges and court
clerks see what was submitted to their court. Anything out of scope is reported as missing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import StaffPrincipal
from server.db import Case, Consultation, Organisation, Summons
from server.db.base import subtree_range
from server.errors import Forbidden, NotFound
from server.vocabulary import CENTRE_KINDS, OrgKind, Role

CENTRE_ROLES = (Role.ADMINISTRATOR, Role.SUPERVISOR, Role.INTAKE_CLERK)
COURT_ROLES = (Role.JUDGE, Role.COURT_CLERK)


def case_scope(who: StaffPrincipal) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the cases ``who`` may see."""
    if who.role in CENTRE_ROLES:
        low, high = subtree_range(who.org_path)
        return and_(Case.scope_path >= low, Case.scope_path < high)
    if who.role == Role.MEDIATOR:
        mine = Case.mediator_id == who.staff_id
        if who.org_kind == OrgKind.MEDIATION_ROOM:
            return or_(mine, Case.room_id == who.org_id)
        return mine
    if who.role == Role.DEPARTMENT_LIAISON:
        summoned = (
            select(Consultation.case_id)
            .join(Summons, Summons.consultation_id == Consultation.id)
            .where(Summons.department_id == who.org_id)
        )
        return or_(Case.department_id == who.org_id, Case.id.in_(summoned))
    if who.role in COURT_ROLES:
        return Case.court_id == who.org_id
    return false()


def org_scope(who: StaffPrincipal) -> ColumnElement[bool]:
    """Organisations whose figures ``who`` may see: their own and everything below it."""
    low, high = subtree_range(who.org_path)
    return and_(Organisation.path >= low, Organisation.path < high)


async def case_in_scope(
    db: AsyncSession, who: StaffPrincipal, case_id: int, *, for_update: bool = False
) -> Case:
    """The case, if ``who`` may see it; otherwise :class:`NotFound`, as if it did not exist."""
    query = select(Case).where(Case.id == case_id, case_scope(who))
    if for_update:
        query = query.with_for_update()
    case = (await db.execute(query)).scalar_one_or_none()
    if case is None:
        raise NotFound()
    return case


async def org_in_scope(db: AsyncSession, who: StaffPrincipal, code: str) -> Organisation:
    """An organisation at or below ``who``'s, by code; otherwise :class:`NotFound`."""
    org = (
        await db.execute(select(Organisation).where(Organisation.code == code, org_scope(who)))
    ).scalar_one_or_none()
    if org is None:
        raise NotFound()
    return org


def org_reachable(who: StaffPrincipal, org: Organisation) -> bool:
    """Whether ``who`` may send a case to (or summon) ``org``.

    Reachable are: everything at or below ``who``'s organisation (transfer down); the centres
    above it (transfer up, 上报); and the rooms, departments and courts stationed at those
    centres above (a township sends a case to its county's labour bureau). Another county's
    organisations are not reachable, whatever code or id the client sends.
    """
    low, high = subtree_range(who.org_path)
    if low <= org.path < high:
        return True
    if who.org_path.startswith(org.path):
        return org.kind in CENTRE_KINDS
    parent_path = org.path[: org.path.rstrip("/").rfind("/") + 1]
    return org.kind not in CENTRE_KINDS and who.org_path.startswith(parent_path)


def require_role(who: StaffPrincipal, *roles: Role) -> None:
    """Refuse the action unless ``who`` has one of ``roles``."""
    if who.role not in roles:
        raise Forbidden()
