"""The people's mediation agreement (人民调解协议书): drafts from the mediator's form, each a
new version, and finalising the text so it may be signed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope
from server.auth.principal import StaffPrincipal
from server.db import Document
from server.documents.access import DRAFTING_ROLES, drafting_case
from server.documents.issue import issue_document, party_entry
from server.documents.schemas import AgreementForm
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.errors import Conflict, Forbidden, NotFound
from server.workflow.timeline import record as timeline


async def draft_agreement(
    db: AsyncSession,
    who: StaffPrincipal,
    case_id: int,
    form: AgreementForm,
    *,
    template_dir: TemplateDirs,
    today: dt.date,
) -> Document:
    """A new DRAFT version of the case's agreement from ``form`` (older versions, a final one
    included, are superseded: a changed text needs signing again)."""
    case = await drafting_case(db, who, case_id)
    data = {
        "parties": [party_entry(p, sex=form.sexes.get(str(p.id), "")) for p in case.parties],
        "facts": form.facts,
        "disputed_matters": form.disputed_matters,
        "terms": list(form.terms),
        "performance": form.performance,
        "performance_deadline": (
            form.performance_deadline.isoformat() if form.performance_deadline else ""
        ),
    }
    document = await issue_document(
        db,
        case,
        DocumentKind.AGREEMENT,
        data,
        created_by=who.staff_id,
        template_dir=template_dir,
        status=DocumentStatus.DRAFT,
        today=today,
    )
    await timeline(
        db,
        case,
        "agreement_drafted",
        actor_id=who.staff_id,
        document_id=document.id,
        version=document.version,
        sha256=document.sha256,
    )
    return document


async def finalise(db: AsyncSession, who: StaffPrincipal, document_id: int) -> Document:
    """Freeze a draft's text: FINAL, ready to be signed. Only the current draft can be."""
    document = await db.get(Document, document_id)
    if document is None:
        raise NotFound()
    case = await case_in_scope(db, who, document.case_id)
    if who.role not in DRAFTING_ROLES:
        raise Forbidden()
    if document.status != DocumentStatus.DRAFT:
        raise Conflict("error.document_not_draft")
    document.status = DocumentStatus.FINAL
    await timeline(
        db,
        case,
        "agreement_finalised",
        actor_id=who.staff_id,
        document_id=document.id,
        version=document.version,
        sha256=document.sha256,
    )
    await db.flush()
    return document
