"""``/api/confirmations``: the joint application and the court's side over JSON (proposal by
the centre, the court's queue, extension, decision)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, Field

from server.api.routes import api
from server.appkeys import SETTINGS
from server.confirmation.application import propose
from server.confirmation.court import court_application, court_queue, days_left, decide, extend
from server.confirmation.vocabulary import Decision
from server.context import ctx, match_int, staff
from server.db import ConfirmationApplication
from server.documents.templates import TemplateDirs
from server.validation import Body

TAG = "confirmation"


class ProposeRequest(Body):
    """The competent court, by organisation code."""

    court: str = Field(min_length=1, max_length=32)


class ExtendRequest(Body):
    """The reason for the one 10-day extension."""

    reason: str = Field(min_length=1, max_length=4000)


class DecideRequest(Body):
    """Confirm or reject; reasons are required to reject."""

    decision: Decision
    reasons: str = Field("", max_length=4000)


class ApplicationOut(BaseModel):
    """A joint application and its clock."""

    id: int
    case_id: int
    agreement_id: int
    court_id: int
    status: str
    apply_by: dt.date
    filed_on: dt.date | None
    decide_by: dt.date | None
    days_left: int | None
    extended: bool
    decision: str | None
    application_document_id: int | None
    ruling_document_id: int | None


def application_out(row: ConfirmationApplication, today: dt.date) -> ApplicationOut:
    """The API view of an application."""
    return ApplicationOut(
        id=row.id,
        case_id=row.case_id,
        agreement_id=row.agreement_id,
        court_id=row.court_id,
        status=str(row.status),
        apply_by=row.apply_by,
        filed_on=row.filed_on,
        decide_by=row.decide_by,
        days_left=days_left(row, today) if row.decide_by else None,
        extended=row.extended_at is not None,
        decision=str(row.decision) if row.decision else None,
        application_document_id=row.application_document_id,
        ruling_document_id=row.ruling_document_id,
    )


@api.operation(
    "POST",
    "/api/cases/{case_id}/confirmation",
    summary="Propose the competent court for the sealed agreement (each party then confirms)",
    tag=TAG,
    body=ProposeRequest,
    response=ApplicationOut,
    status=201,
    errors=(403, 404, 409, 422),
)
async def confirmation_propose(request: web.Request, body: ProposeRequest) -> ApplicationOut:
    """Start the joint application; it is filed when every party confirmed on their link."""
    context = ctx(request)
    row = await propose(
        context.db,
        staff(request),
        match_int(request, "case_id"),
        body.court,
        timezone=request.app[SETTINGS].timezone,
    )
    return application_out(row, context.today)


@api.operation(
    "GET",
    "/api/confirmations",
    summary="The court's queue: filed applications, nearest decision deadline first",
    tag=TAG,
    response=list[ApplicationOut],
)
async def confirmation_queue(request: web.Request) -> list[ApplicationOut]:
    """Applications filed with the caller's court (empty for anyone but judges and clerks)."""
    context = ctx(request)
    items = await court_queue(context.db, staff(request), context.today)
    return [application_out(item.application, context.today) for item in items]


@api.operation(
    "GET",
    "/api/confirmations/{application_id}",
    summary="One application of the caller's court",
    tag=TAG,
    response=ApplicationOut,
    errors=(404,),
)
async def confirmation_get(request: web.Request) -> ApplicationOut:
    """An application filed with the caller's court; anyone else: not found."""
    context = ctx(request)
    row = await court_application(context.db, staff(request), match_int(request, "application_id"))
    return application_out(row, context.today)


@api.operation(
    "POST",
    "/api/confirmations/{application_id}/extend",
    summary="Extend the decision deadline by 10 days, once (a judge of the court)",
    tag=TAG,
    body=ExtendRequest,
    response=ApplicationOut,
    errors=(403, 404, 409, 422),
)
async def confirmation_extend(request: web.Request, body: ExtendRequest) -> ApplicationOut:
    """The one extension, with its reason."""
    context = ctx(request)
    row = await extend(
        context.db, staff(request), match_int(request, "application_id"), body.reason
    )
    return application_out(row, context.today)


@api.operation(
    "POST",
    "/api/confirmations/{application_id}/decide",
    summary="Confirm or reject; issues the ruling and seals it with the court's key",
    tag=TAG,
    body=DecideRequest,
    response=ApplicationOut,
    errors=(403, 404, 409, 422),
)
async def confirmation_decide(request: web.Request, body: DecideRequest) -> ApplicationOut:
    """Refused after the deadline unless extended; only a judge of the application's court."""
    context = ctx(request)
    settings = request.app[SETTINGS]
    application_id = match_int(request, "application_id")
    await decide(
        context.db,
        settings,
        staff(request),
        application_id,
        body.decision,
        body.reasons,
        today=context.today,
        template_dir=TemplateDirs.from_settings(settings),
    )
    row = await court_application(context.db, staff(request), application_id)
    return application_out(row, context.today)
