"""Signing pages: a party reads the FINAL agreement and signs it through their link
(``/my-case/sign/{id}``), reads their case's documents (HTML and PDF); the mediator sees who
has signed, signs last (which seals), and proposes the court for the joint application."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from server.access import case_in_scope
from server.appkeys import SETTINGS
from server.auth.principal import StaffPrincipal
from server.confirmation.application import consents, courts_for, current_application, propose
from server.context import ctx, match_int, party
from server.db import Case, Document, Party
from server.documents.pdf import render_pdf_async
from server.documents.render import masked_for_screen
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.errors import BilinError, NotFound
from server.signatures.bundle import export_bundle
from server.signatures.capture import sign_as_mediator, sign_as_party, signable
from server.signatures.schemas import ID_TAIL_LENGTH, SignRequest
from server.signatures.state import agreement_state, required_parties
from server.validation import parse
from server.views.render import redirect, render
from server.views.staff_common import staff_or_login

logger = logging.getLogger(__name__)

# Documents a party may read through their link: the texts that concern them directly.
PARTY_KINDS = (
    DocumentKind.AGREEMENT,
    DocumentKind.CONFIRMATION_APPLICATION,
    DocumentKind.RULING,
    DocumentKind.MEDIATION_RECORD,
)


def sign_form(form: MultiDictProxy[str | bytes | Any], document_id: int) -> dict[str, Any]:
    """The sign form's fields as :class:`SignRequest` data (files are ignored)."""
    data: dict[str, Any] = {"document_id": document_id}
    for name in ("method", "signature_png", "typed_name", "full_name", "id_tail"):
        value = form.get(name)
        if isinstance(value, str):
            data[name] = value
    data["confirm"] = form.get("confirm") == "1"
    return data


def _errors(request: web.Request, exc: BilinError) -> tuple[str, dict[str, str]]:
    t = ctx(request).translate
    return t(exc.key, **exc.params), {
        name: t(err.key, **err.params) for name, err in exc.fields.items()
    }


async def _party_document(request: web.Request, document_id: int) -> Document:
    who = party(request)
    document = await ctx(request).db.get(Document, document_id)
    if (
        document is None
        or document.case_id != who.case_id
        or document.kind not in PARTY_KINDS
        or document.status == DocumentStatus.DRAFT
    ):
        raise NotFound()
    return document


async def _sign_page(
    request: web.Request,
    document: Document,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    who = party(request)
    db = ctx(request).db
    me = await db.get(Party, who.party_id)
    case = await db.get(Case, who.case_id)
    if me is None or case is None:
        raise NotFound()
    state = await agreement_state(db, case)
    refusal = ""
    try:
        await signable(db, case.id, document.id)
    except BilinError as exc:
        refusal = ctx(request).translate(exc.key)
    mine = next((s for s in state.valid if s.party_id == me.id), None)
    page = {
        "document": document,
        "content": masked_for_screen(document.content),
        "me": me,
        "case": case,
        "refusal": refusal,
        "signed": mine,
        "sealed": state.sealed,
        "id_tail_length": ID_TAIL_LENGTH,
        "error": error,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "sign/sign.html", page, status=status)


async def sign_page(request: web.Request) -> web.StreamResponse:
    """``GET /my-case/sign/{id}``: the exact text, its hash, identity check and the pad."""
    document = await _party_document(request, match_int(request, "document_id"))
    if document.kind != DocumentKind.AGREEMENT:
        raise NotFound()
    return await _sign_page(request, document)


async def sign_submit(request: web.Request) -> web.StreamResponse:
    """``POST /my-case/sign/{id}``: the party's signature (refusals change nothing)."""
    who = party(request)
    context = ctx(request)
    document_id = match_int(request, "document_id")
    await _party_document(request, document_id)
    form = await request.post()
    data = sign_form(form, document_id)
    try:
        await sign_as_party(
            context.db,
            request.app[SETTINGS],
            who,
            parse(SignRequest, data),
            session_token=context.session_token,
        )
    except BilinError as exc:
        # Nothing of a refused signature is kept; the page is drawn from the database again.
        await context.db.rollback()
        document = await _party_document(request, document_id)
        error, errors = _errors(request, exc)
        values = {k: v for k, v in data.items() if k in ("full_name", "typed_name", "method")}
        return await _sign_page(
            request, document, error=error, errors=errors, values=values, status=exc.status
        )
    return redirect("/my-case?signed=1#agreement")


async def party_document(request: web.Request) -> web.StreamResponse:
    """``GET /my-case/documents/{id}``: one of the party's documents as a page (ID numbers
    masked on screen)."""
    document = await _party_document(request, match_int(request, "document_id"))
    return render(
        request,
        "sign/document.html",
        {"document": document, "content": masked_for_screen(document.content)},
    )


async def party_document_pdf(request: web.Request) -> web.StreamResponse:
    """``GET /my-case/documents/{id}.pdf``: the document as a PDF (the signed text, whole)."""
    document = await _party_document(request, match_int(request, "document_id"))
    settings = request.app[SETTINGS]
    pdf = await render_pdf_async(
        document.content, title=f"{document.kind}-{document.version}", web_dir=settings.web_dir
    )
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.kind}-v{document.version}.pdf"'
        },
    )


async def _staff_page(
    request: web.Request,
    who: StaffPrincipal,
    case: Case,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    db = ctx(request).db
    state = await agreement_state(db, case)
    application = await current_application(db, case.id)
    confirmed = {c.party_id for c in await consents(db, application.id)} if application else set()
    page = {
        "case": case,
        "state": state,
        "signed_by": {s.party_id: s for s in state.valid if s.party_id is not None},
        "parties": await required_parties(db, case),
        "application": application,
        "confirmed_ids": confirmed,
        "courts": await courts_for(db, who),
        "error": error,
        "errors": errors or {},
        "id_tail_length": ID_TAIL_LENGTH,
    }
    return render(request, "sign/staff.html", page, status=status)


async def staff_signatures(request: web.Request) -> web.StreamResponse:
    """``GET /cases/{id}/agreement``: who signed which version; the mediator's signature;
    the court proposal and the parties' confirmations."""
    who = staff_or_login(request)
    case = await case_in_scope(ctx(request).db, who, match_int(request, "case_id"))
    return await _staff_page(request, who, case)


async def staff_sign(request: web.Request) -> web.StreamResponse:
    """``POST /cases/{id}/agreement/sign``: the mediator signs; the centre's seal follows."""
    who = staff_or_login(request)
    context = ctx(request)
    case_id = match_int(request, "case_id")
    case = await case_in_scope(context.db, who, case_id)
    form = await request.post()
    raw = form.get("document_id")
    document_id = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else 0
    try:
        await sign_as_mediator(
            context.db,
            request.app[SETTINGS],
            who,
            case,
            parse(SignRequest, sign_form(form, document_id)),
            session_token=context.session_token,
        )
    except BilinError as exc:
        await context.db.rollback()
        case = await case_in_scope(context.db, who, case_id)
        error, errors = _errors(request, exc)
        return await _staff_page(request, who, case, error=error, errors=errors, status=exc.status)
    return redirect(f"/cases/{case_id}/agreement?done=sealed")


async def staff_propose(request: web.Request) -> web.StreamResponse:
    """``POST /cases/{id}/confirmation``: propose the competent court."""
    who = staff_or_login(request)
    context = ctx(request)
    case_id = match_int(request, "case_id")
    form = await request.post()
    court = form.get("court")
    try:
        await propose(
            context.db,
            who,
            case_id,
            court if isinstance(court, str) else "",
            timezone=request.app[SETTINGS].timezone,
        )
    except BilinError as exc:
        await context.db.rollback()
        case = await case_in_scope(context.db, who, case_id)
        error, errors = _errors(request, exc)
        return await _staff_page(request, who, case, error=error, errors=errors, status=exc.status)
    return redirect(f"/cases/{case_id}/agreement?done=proposed")


async def signed_bundle(request: web.Request) -> web.StreamResponse:
    """``GET /cases/{id}/signed/{document_id}.zip``: the signed document as a bundle for
    ``bilin verify`` (staff who may see the case: the centre, the mediator, the court)."""
    who = staff_or_login(request)
    db = ctx(request).db
    case = await case_in_scope(db, who, match_int(request, "case_id"))
    document = await db.get(Document, match_int(request, "document_id"))
    if document is None or document.case_id != case.id:
        raise NotFound()
    name = f"{document.kind}-v{document.version}-signed.zip"
    return web.Response(
        body=await export_bundle(db, document),
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/my-case/sign/{document_id:[0-9]+}", sign_page)
    app.router.add_post("/my-case/sign/{document_id:[0-9]+}", sign_submit)
    app.router.add_get("/my-case/documents/{document_id:[0-9]+}", party_document)
    app.router.add_get("/my-case/documents/{document_id:[0-9]+}.pdf", party_document_pdf)
    app.router.add_get("/cases/{case_id:[0-9]+}/agreement", staff_signatures)
    app.router.add_post("/cases/{case_id:[0-9]+}/agreement/sign", staff_sign)
    app.router.add_post("/cases/{case_id:[0-9]+}/confirmation", staff_propose)
    app.router.add_get("/cases/{case_id:[0-9]+}/signed/{document_id:[0-9]+}.zip", signed_bundle)
