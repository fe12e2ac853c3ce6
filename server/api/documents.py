"""``/api/.../documents``: a case's documents (every version), agreement drafts from the form,
finalising a draft."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.access import case_in_scope
from server.api.routes import api
from server.appkeys import SETTINGS
from server.context import ctx, match_int, staff
from server.db import Document
from server.documents import agreement
from server.documents.access import readable_document
from server.documents.render import masked_for_screen
from server.documents.schemas import AgreementForm, DocumentDetail, DocumentOut
from server.documents.templates import TemplateDirs

TAG = "documents"


def document_out(document: Document) -> DocumentOut:
    """A document version without its content."""
    return DocumentOut(
        id=document.id,
        case_id=document.case_id,
        kind=document.kind,
        version=document.version,
        status=document.status,
        template=document.template,
        sha256=document.sha256,
        hearing_id=document.hearing_id,
        created_at=document.created_at,
        html_url=f"/documents/{document.id}",
        pdf_url=f"/documents/{document.id}.pdf",
    )


@api.operation(
    "GET",
    "/api/cases/{case_id}/documents",
    summary="A case's documents, every version, newest first per kind",
    tag=TAG,
    response=list[DocumentOut],
)
async def document_list(request: web.Request) -> list[DocumentOut]:
    """For staff who may see the case."""
    context = ctx(request)
    case = await case_in_scope(context.db, staff(request), match_int(request, "case_id"))
    rows = await context.db.execute(
        select(Document)
        .where(Document.case_id == case.id)
        .order_by(Document.kind, Document.version.desc())
    )
    return [document_out(d) for d in rows.scalars()]


@api.operation(
    "GET",
    "/api/documents/{document_id}",
    summary="One document version with its content (ID numbers masked)",
    tag=TAG,
    response=DocumentDetail,
    auth="participant",
)
async def document_get(request: web.Request) -> DocumentDetail:
    """Staff who may see the case; the case's parties (not drafts). The whole text is in the
    PDF; on screen and here ID numbers are masked."""
    context = ctx(request)
    document = await readable_document(
        context.db, context.principal, match_int(request, "document_id")
    )
    return DocumentDetail(
        **document_out(document).model_dump(), content=masked_for_screen(document.content)
    )


@api.operation(
    "POST",
    "/api/cases/{case_id}/agreement",
    summary="A new draft of the case's mediation agreement (supersedes earlier versions)",
    tag=TAG,
    body=AgreementForm,
    response=DocumentOut,
    status=201,
    errors=(403, 422),
)
async def agreement_draft(request: web.Request, body: AgreementForm) -> DocumentOut:
    """The parties come from the case; the form gives the facts, terms and performance."""
    context = ctx(request)
    document = await agreement.draft_agreement(
        context.db,
        staff(request),
        match_int(request, "case_id"),
        body,
        template_dir=TemplateDirs.from_settings(request.app[SETTINGS]),
        today=context.today,
    )
    return document_out(document)


@api.operation(
    "POST",
    "/api/documents/{document_id}/finalise",
    summary="Freeze a draft's text (FINAL): it may then be signed",
    tag=TAG,
    response=DocumentOut,
    errors=(403, 409),
)
async def document_finalise(request: web.Request) -> DocumentOut:
    """Only the current draft; a superseded or final version is refused."""
    context = ctx(request)
    document = await agreement.finalise(
        context.db, staff(request), match_int(request, "document_id")
    )
    return document_out(document)
