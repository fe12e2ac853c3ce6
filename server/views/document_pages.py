"""Document pages: a document version on screen (``/documents/{id}``, ID numbers masked) and
as PDF (``/documents/{id}.pdf``, the whole text); a case's documents with the agreement form;
the clerk's record editor page (``/cases/{id}/record/{record_id}``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from server.access import case_in_scope
from server.appkeys import SETTINGS
from server.auth.principal import StaffPrincipal
from server.context import ctx, match_int
from server.db import Document, Hearing, MediationRecord
from server.documents import agreement, record
from server.documents.access import DRAFTING_ROLES, readable_document
from server.documents.pdf import cached_pdf
from server.documents.render import masked_for_screen
from server.documents.schemas import AgreementForm
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.errors import InvalidInput, NotFound
from server.validation import parse
from server.views.render import redirect, render
from server.views.staff_common import messages, read_form, staff_or_login

DONE = ("drafted", "finalised")
KIND_FILE_NAMES = {
    DocumentKind.MEDIATION_RECORD: "调解笔录",
    DocumentKind.AGREEMENT: "人民调解协议书",
    DocumentKind.CONFIRMATION_APPLICATION: "司法确认申请书",
    DocumentKind.RULING: "民事裁定书",
}


async def document_page(request: web.Request) -> web.StreamResponse:
    """One document version on screen, with its hash, status and other versions."""
    context = ctx(request)
    if context.principal is None:
        staff_or_login(request)
    document = await readable_document(
        context.db, context.principal, match_int(request, "document_id")
    )
    versions = list(
        (
            await context.db.execute(
                select(Document)
                .where(Document.case_id == document.case_id, Document.kind == document.kind)
                .order_by(Document.version.desc())
            )
        ).scalars()
    )
    if not isinstance(context.principal, StaffPrincipal):
        versions = [v for v in versions if v.status != DocumentStatus.DRAFT]
    return render(
        request,
        "documents/pages/document.html",
        {
            "document": document,
            "content": masked_for_screen(document.content),
            "versions": versions,
            "latest": versions[0] if versions else document,
            "is_staff": isinstance(context.principal, StaffPrincipal),
        },
    )


async def document_pdf(request: web.Request) -> web.StreamResponse:
    """The PDF of a document version: the whole text (it is the document itself)."""
    context = ctx(request)
    if context.principal is None:
        staff_or_login(request)
    document = await readable_document(
        context.db, context.principal, match_int(request, "document_id")
    )
    title = f"{KIND_FILE_NAMES[document.kind]}-{document.case_id}-v{document.version}"
    settings = request.app[SETTINGS]
    pdf = await cached_pdf(
        document.content,
        document.sha256,
        title=title,
        web_dir=settings.web_dir,
        cache_dir=settings.data_dir / "documents" / "pdf",
    )
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.pdf",
            "X-Document-SHA256": document.sha256,
        },
    )


async def _case_view(request: web.Request, who: StaffPrincipal, case_id: int) -> dict[str, Any]:
    db = ctx(request).db
    case = await case_in_scope(db, who, case_id)
    documents = list(
        (
            await db.execute(
                select(Document)
                .where(Document.case_id == case.id)
                .order_by(Document.kind, Document.version.desc())
            )
        ).scalars()
    )
    hearings = list(
        (
            await db.execute(
                select(Hearing).where(Hearing.case_id == case.id).order_by(Hearing.starts_at)
            )
        ).scalars()
    )
    records = {
        r.hearing_id: r
        for r in (
            await db.execute(select(MediationRecord).where(MediationRecord.case_id == case.id))
        ).scalars()
    }
    return {
        "case": case,
        "documents": documents,
        "last_agreement": _last_agreement_form(documents),
        "hearings": hearings,
        "records": records,
        "may_draft": who.role in DRAFTING_ROLES,
        "form": {},
        "errors": {},
        "done": "",
    }


def _last_agreement_form(documents: list[Document]) -> dict[str, str]:
    """The newest agreement's form values, so the next draft starts from the last one."""
    last = next((d for d in documents if d.kind == DocumentKind.AGREEMENT), None)
    if last is None:
        return {}
    data = json.loads(last.data or "{}")
    values = {
        "facts": str(data.get("facts", "")),
        "disputed_matters": str(data.get("disputed_matters", "")),
        "terms": "\n".join(str(term) for term in data.get("terms", [])),
        "performance": str(data.get("performance", "")),
        "performance_deadline": str(data.get("performance_deadline", "")),
    }
    for party in data.get("parties", []):
        if isinstance(party, dict) and party.get("sex"):
            values[f"sex_{party.get('id')}"] = str(party["sex"])
    return values


async def case_documents_page(request: web.Request) -> web.StreamResponse:
    """A case's documents (every version), its hearings' records, and the agreement form."""
    who = staff_or_login(request)
    view = await _case_view(request, who, match_int(request, "case_id"))
    done = request.query.get("done", "")
    view["done"] = done if done in DONE else ""
    view["form"] = view["last_agreement"]
    return render(request, "documents/pages/case.html", view)


def _agreement_form(values: dict[str, str], sexes: dict[str, str]) -> dict[str, Any]:
    terms = [line.strip() for line in values.get("terms", "").splitlines() if line.strip()]
    return {
        "facts": values.get("facts", ""),
        "disputed_matters": values.get("disputed_matters", ""),
        "terms": terms,
        "performance": values.get("performance", ""),
        "performance_deadline": values.get("performance_deadline") or None,
        "sexes": sexes,
    }


async def agreement_post(request: web.Request) -> web.StreamResponse:
    """Post the agreement form: a new draft version, or the page again with what was wrong."""
    who = staff_or_login(request)
    context = ctx(request)
    case_id = match_int(request, "case_id")
    posted = await read_form(request)
    sexes = {
        key.removeprefix("sex_"): value
        for key, value in posted.values.items()
        if key.startswith("sex_") and value
    }
    try:
        form = parse(AgreementForm, _agreement_form(posted.values, sexes))
        await agreement.draft_agreement(
            context.db,
            who,
            case_id,
            form,
            template_dir=TemplateDirs.from_settings(request.app[SETTINGS]),
            today=context.today,
        )
    except InvalidInput as exc:
        await context.db.rollback()
        view = await _case_view(request, who, case_id)
        rename = {f"terms.{i}": "terms" for i in range(100)}
        rename["performance_deadline"] = "performance_deadline"
        view["errors"] = messages(context.translate, exc, rename)
        if not view["errors"]:
            view["errors"] = {"form": context.translate(exc.key, **exc.params)}
        view["form"] = posted.values
        return render(request, "documents/pages/case.html", view, status=422)
    return redirect(f"/cases/{case_id}/documents?done=drafted")


async def finalise_post(request: web.Request) -> web.StreamResponse:
    """Finalise a draft from the documents page."""
    who = staff_or_login(request)
    document = await agreement.finalise(ctx(request).db, who, match_int(request, "document_id"))
    return redirect(f"/cases/{document.case_id}/documents?done=finalised")


async def record_open_post(request: web.Request) -> web.StreamResponse:
    """Open (make on first use) a hearing's record and go to its editor page."""
    who = staff_or_login(request)
    context = ctx(request)
    case_id = match_int(request, "case_id")
    hearing = await context.db.get(Hearing, match_int(request, "hearing_id"))
    if hearing is None or hearing.case_id != case_id:
        raise NotFound()
    row, _ = await record.open_record(context.db, who, hearing.id)
    return redirect(f"/cases/{case_id}/record/{row.id}")


async def record_page(request: web.Request) -> web.StreamResponse:
    """The record editor for a clerk after the hearing (the same editor as the live panel)."""
    who = staff_or_login(request)
    context = ctx(request)
    case_id = match_int(request, "case_id")
    row, _ = await record.record_by_id(context.db, who, match_int(request, "record_id"))
    if row.case_id != case_id:
        raise NotFound()
    case = await case_in_scope(context.db, who, case_id)
    hearing = await context.db.get(Hearing, row.hearing_id)
    return render(
        request,
        "documents/pages/record.html",
        {"case": case, "hearing": hearing, "record_hearing_id": row.hearing_id},
    )


def add_routes(app: web.Application) -> None:
    """The document pages' routes."""
    app.router.add_get("/documents/{document_id:[0-9]+}.pdf", document_pdf)
    app.router.add_get("/documents/{document_id:[0-9]+}", document_page)
    app.router.add_post("/documents/{document_id:[0-9]+}/finalise", finalise_post)
    app.router.add_get("/cases/{case_id:[0-9]+}/documents", case_documents_page)
    app.router.add_post("/cases/{case_id:[0-9]+}/documents/agreement", agreement_post)
    app.router.add_post(
        "/cases/{case_id:[0-9]+}/hearings/{hearing_id:[0-9]+}/record", record_open_post
    )
    app.router.add_get("/cases/{case_id:[0-9]+}/record/{record_id:[0-9]+}", record_page)
