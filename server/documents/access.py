"""Who may read a document: staff who may see its case, and the case's parties through their
link (never a draft). Anyone else is told it does not exist."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, require_role
from server.auth.principal import PartyPrincipal, Principal, StaffPrincipal
from server.db import Case, Document
from server.documents.vocabulary import DocumentStatus
from server.errors import NotFound
from server.vocabulary import Role

# Staff who draft and finalise agreements in their scope.
DRAFTING_ROLES = (Role.MEDIATOR, Role.INTAKE_CLERK, Role.ADMINISTRATOR, Role.SUPERVISOR)


async def readable_document(db: AsyncSession, who: Principal | None, document_id: int) -> Document:
    """The document, if ``who`` may read it; otherwise :class:`NotFound`."""
    document = await db.get(Document, document_id)
    if document is None:
        raise NotFound()
    if isinstance(who, StaffPrincipal):
        await case_in_scope(db, who, document.case_id)
        return document
    if (
        isinstance(who, PartyPrincipal)
        and who.case_id == document.case_id
        and document.status != DocumentStatus.DRAFT
    ):
        return document
    raise NotFound()


async def drafting_case(db: AsyncSession, who: StaffPrincipal, case_id: int) -> Case:
    """A case whose documents ``who`` may draft: in scope, and a drafting role."""
    case = await case_in_scope(db, who, case_id)
    require_role(who, *DRAFTING_ROLES)
    return case
