"""``/cases`` (the searchable case list) and ``/cases/new`` (统一受理, the intake form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import org_scope, require_role
from server.appkeys import SETTINGS
from server.auth.principal import StaffPrincipal
from server.context import ctx
from server.db import Organisation
from server.errors import InvalidInput
from server.queries.case_list import CaseListPage, CaseListQuery, list_cases
from server.schemas.cases import IntakeRequest
from server.validation import parse
from server.views.render import render
from server.views.staff_common import (
    FormData,
    messages,
    non_empty,
    orgs_named,
    read_form,
    staff_or_login,
)
from server.vocabulary import CENTRE_KINDS, CaseStatus, Channel, DisputeType, Lane, PartyRole
from server.workflow import intake
from server.workflow.intake import INTAKE_ROLES
from server.workflow.orgs import nearest_centre

LIST_FIELDS = (
    "q",
    "status",
    "dispute_type",
    "lane",
    "overdue",
    "open_only",
    "org",
    "cursor",
    "limit",
)
PARTY_FIELDS = ("name", "id_number", "phone", "address")
DEFAULT_PARTY_ROWS = 4
MAX_PARTY_ROWS = 20
DEFAULT_ROLES = (PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.AGENT, PartyRole.AGENT)


async def centres_in_scope(db: AsyncSession, who: StaffPrincipal) -> list[Organisation]:
    """Governance centres at or below the person's organisation, in tree order."""
    rows = await db.execute(
        select(Organisation)
        .where(org_scope(who), Organisation.kind.in_(CENTRE_KINDS))
        .order_by(Organisation.path)
        .limit(2000)
    )
    return list(rows.scalars())


async def case_list_page(request: web.Request) -> web.StreamResponse:
    """Search and filter the cases in scope, newest first, one page at a time."""
    who = staff_or_login(request)
    context = ctx(request)
    raw = {k: request.query[k].strip() for k in LIST_FIELDS if request.query.get(k, "").strip()}
    errors: dict[str, str] = {}
    status = 200
    try:
        query = parse(CaseListQuery, raw)
        page = await list_cases(context.db, who, query, context.today)
    except InvalidInput as exc:
        errors = messages(context.translate, exc)
        page = CaseListPage([], None)
        status = 422
    orgs = await orgs_named(context.db, (c.centre_id for c in page.cases))
    kept = {k: v for k, v in raw.items() if k != "cursor"}
    next_link = (
        "/cases?" + urlencode({**kept, "cursor": page.next_cursor}) if page.next_cursor else ""
    )
    first_link = "/cases?" + urlencode(kept) if "cursor" in raw else ""
    return render(
        request,
        "staff/cases.html",
        {
            "cases": page.cases,
            "orgs": orgs,
            "form": raw,
            "errors": errors,
            "next_link": next_link,
            "first_link": first_link,
            "centres": await centres_in_scope(context.db, who),
            "filtered": any(k != "cursor" for k in raw),
            "statuses": list(CaseStatus),
            "dispute_types": list(DisputeType),
            "lanes": list(Lane),
        },
        status=status,
    )


async def _intake_choices(db: AsyncSession, who: StaffPrincipal) -> dict[str, Any]:
    """The handling centres the person may pick, and the default one."""
    own = await nearest_centre(db, who.org_id)
    centres = await centres_in_scope(db, who)
    if centres:
        options = [(c.code, c.name) for c in centres]
        default = own.code if any(c.id == own.id for c in centres) else centres[0].code
    else:
        # A mediator in a room takes disputes in for the room's own centre.
        options = [("", own.name)]
        default = ""
    return {"centre_options": options, "default_centre": default}


def _party_rows(form: FormData | None) -> int:
    if form is None:
        return DEFAULT_PARTY_ROWS
    highest = -1
    for key in form.values:
        head, _, _ = key.partition("_")
        if head.startswith("p") and head[1:].isdigit():
            highest = max(highest, int(head[1:]))
    return min(MAX_PARTY_ROWS, max(DEFAULT_PARTY_ROWS, highest + 1))


def _intake_context(form: FormData | None) -> dict[str, Any]:
    rows = _party_rows(form)
    return {
        "channels": list(Channel),
        "dispute_types": list(DisputeType),
        "lanes": list(Lane),
        "party_roles": list(PartyRole),
        "rows": rows,
        "default_roles": [
            DEFAULT_ROLES[i].value if i < len(DEFAULT_ROLES) else PartyRole.AGENT.value
            for i in range(rows)
        ],
    }


async def intake_form(request: web.Request) -> web.StreamResponse:
    """The empty intake form."""
    who = staff_or_login(request)
    require_role(who, *INTAKE_ROLES)
    db = ctx(request).db
    return render(
        request,
        "staff/new.html",
        {
            **_intake_context(None),
            **await _intake_choices(db, who),
            "form": {},
            "errors": {},
        },
    )


def intake_request_data(form: FormData) -> tuple[dict[str, Any], dict[str, str], list[int]]:
    """The intake request as a dict, field errors found while reading the party rows, and the
    form row of each party kept (empty rows are ignored)."""
    rows = _party_rows(form)
    kept = [i for i in range(rows) if any(form.get(f"p{i}_{name}") for name in PARTY_FIELDS)]
    position = {row: index for index, row in enumerate(kept)}
    pre_errors: dict[str, str] = {}
    parties: list[dict[str, Any]] = []
    for row in kept:
        party: dict[str, Any] = non_empty(
            {name: form.get(f"p{row}_{name}") for name in (*PARTY_FIELDS, "role")},
            *PARTY_FIELDS,
            "role",
        )
        represents = form.get(f"p{row}_represents")
        if party.get("role") == PartyRole.AGENT.value and represents:
            if represents.isdigit() and int(represents) in position:
                party["represents"] = position[int(represents)]
            else:
                pre_errors[f"p{row}_represents"] = "field.agent_represents"
        parties.append(party)
    data: dict[str, Any] = non_empty(
        form.values, "channel", "centre_code", "title", "facts", "claims", "dispute_type", "lane"
    )
    data["parties"] = parties
    return data, pre_errors, kept


async def intake_submit(request: web.Request) -> web.StreamResponse:
    """Accept the dispute; show each party's personal link once, or the form with messages."""
    who = staff_or_login(request)
    require_role(who, *INTAKE_ROLES)
    context = ctx(request)
    t = context.translate
    form = await read_form(request)
    data, pre_errors, kept = intake_request_data(form)
    rename = {"body": "parties"}
    for index, row in enumerate(kept):
        for name in (*PARTY_FIELDS, "role", "represents"):
            rename[f"parties.{index}.{name}"] = f"p{row}_{name}"
    errors = {name: t(key) for name, key in pre_errors.items()}
    created = None
    try:
        req = parse(IntakeRequest, data)
        if not errors:
            created = await intake.intake(context.db, who, req, context.today)
    except InvalidInput as exc:
        errors = {**messages(t, exc, rename), **errors}
    if created is None:
        await context.db.rollback()
        return render(
            request,
            "staff/new.html",
            {
                **_intake_context(form),
                **await _intake_choices(context.db, who),
                "form": form.values,
                "errors": errors,
            },
            status=422,
        )
    case, tokens = created
    base = request.app[SETTINGS].base_url
    orgs = await orgs_named(context.db, (case.centre_id,))
    links = [(party, f"{base}/p/{tokens[party.id]}") for party in case.parties]
    return render(
        request,
        "staff/created.html",
        {"case": case, "links": links, "orgs": orgs},
    )


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/cases", case_list_page)
    app.router.add_get("/cases/new", intake_form)
    app.router.add_post("/cases/new", intake_submit)
