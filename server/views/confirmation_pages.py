"""Judicial confirmation pages: a party confirms the joint application through their link;
judges and clerks review a filed application (the bundle, the decision clock), a judge extends
the deadline once and decides."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.appkeys import SETTINGS
from server.auth.principal import StaffPrincipal
from server.confirmation.application import confirm_by_party
from server.confirmation.court import court_application, days_left, decide, extend
from server.confirmation.vocabulary import Decision
from server.context import ctx, match_int, party
from server.db import Case, Document, Hearing, Organisation
from server.documents.record import confirm_record
from server.documents.templates import TemplateDirs
from server.errors import BilinError, FieldError, InvalidInput, NotFound
from server.hearings.vocabulary import HearingKind
from server.views.party_pages import _case_page
from server.views.render import redirect, render
from server.views.staff_common import staff_or_login


async def party_confirm(request: web.Request) -> web.StreamResponse:
    """``POST /my-case/confirmation``: this party confirms the joint application."""
    who = party(request)
    context = ctx(request)
    try:
        await confirm_by_party(
            context.db,
            who,
            session_token=context.session_token,
            today=context.today,
            template_dir=TemplateDirs.from_settings(request.app[SETTINGS]),
        )
    except BilinError as exc:
        # A refusal keeps nothing of this step (not even this party's confirmation).
        await context.db.rollback()
        t = context.translate
        return await _case_page(request, who, error=t(exc.key, **exc.params), status=exc.status)
    return redirect("/my-case?done=applied#confirmation")


async def _review_page(
    request: web.Request,
    who: StaffPrincipal,
    application_id: int,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = ctx(request)
    db = context.db
    application = await court_application(db, who, application_id)
    case = await db.get(Case, application.case_id)
    if case is None:
        raise NotFound()
    documents: dict[str, Document | None] = {
        "agreement": await db.get(Document, application.agreement_id),
        "application": await db.get(Document, application.application_document_id)
        if application.application_document_id
        else None,
        "ruling": await db.get(Document, application.ruling_document_id)
        if application.ruling_document_id
        else None,
    }
    court = await db.get(Organisation, application.court_id)
    hearings = await db.execute(
        select(Hearing)
        .where(Hearing.case_id == case.id, Hearing.kind == HearingKind.CONFIRMATION_HEARING)
        .order_by(Hearing.starts_at)
    )
    done = request.query.get("done", "") if status == 200 else ""
    page: dict[str, Any] = {
        "application": application,
        "case": case,
        "court": court,
        "hearings": list(hearings.scalars()),
        "documents": documents,
        "bundle": json.loads(application.bundle or "{}"),
        "days_left": days_left(application, context.today),
        "error": error,
        "errors": errors or {},
        "values": values or {},
        "done": done if done in ("extended", "decided") else "",
    }
    return render(request, "confirmation/review.html", page, status=status)


async def review(request: web.Request) -> web.StreamResponse:
    """``GET /confirmations/{id}``: a filed application for the court."""
    who = staff_or_login(request)
    return await _review_page(request, who, match_int(request, "application_id"))


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf"}


async def _refused(
    request: web.Request,
    who: StaffPrincipal,
    application_id: int,
    exc: BilinError,
    values: dict[str, str],
) -> web.Response:
    context = ctx(request)
    await context.db.rollback()
    t = context.translate
    return await _review_page(
        request,
        who,
        application_id,
        error=t(exc.key, **exc.params),
        errors={name: t(e.key, **e.params) for name, e in exc.fields.items()},
        values=values,
        status=exc.status,
    )


async def extend_submit(request: web.Request) -> web.StreamResponse:
    """``POST /confirmations/{id}/extend``: the one 10-day extension, with a reason."""
    who = staff_or_login(request)
    application_id = match_int(request, "application_id")
    values = await _form(request)
    try:
        await extend(ctx(request).db, who, application_id, values.get("reason", ""))
    except BilinError as exc:
        return await _refused(request, who, application_id, exc, values)
    return redirect(f"/confirmations/{application_id}?done=extended")


async def decide_submit(request: web.Request) -> web.StreamResponse:
    """``POST /confirmations/{id}/decide``: confirm or reject, with reasons; the ruling."""
    who = staff_or_login(request)
    context = ctx(request)
    application_id = match_int(request, "application_id")
    values = await _form(request)
    try:
        raw = values.get("decision", "")
        if raw not in {d.value for d in Decision}:
            raise InvalidInput(fields={"decision": FieldError("field.required")})
        await decide(
            context.db,
            request.app[SETTINGS],
            who,
            application_id,
            Decision(raw),
            values.get("reasons", ""),
            today=context.today,
            template_dir=TemplateDirs.from_settings(request.app[SETTINGS]),
        )
    except BilinError as exc:
        return await _refused(request, who, application_id, exc, values)
    return redirect(f"/confirmations/{application_id}?done=decided")


async def record_confirm(request: web.Request) -> web.StreamResponse:
    """``POST /my-case/records/{id}/confirm``: the party confirms a signed-off mediation
    record (``server.documents.record.confirm_record``)."""
    who = party(request)
    context = ctx(request)
    try:
        await confirm_record(context.db, who, match_int(request, "record_id"))
    except BilinError as exc:
        await context.db.rollback()
        t = context.translate
        return await _case_page(request, who, error=t(exc.key, **exc.params), status=exc.status)
    return redirect("/my-case?done=record_confirmed#records")


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_post("/my-case/confirmation", party_confirm)
    app.router.add_post("/my-case/records/{record_id:[0-9]+}/confirm", record_confirm)
    app.router.add_get("/confirmations/{application_id:[0-9]+}", review)
    app.router.add_post("/confirmations/{application_id:[0-9]+}/extend", extend_submit)
    app.router.add_post("/confirmations/{application_id:[0-9]+}/decide", decide_submit)
