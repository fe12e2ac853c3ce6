"""``/cases/{id}``: one case in full, its timeline, and the forms that move it on.

Every form posts to a page route that calls the same ``server.workflow`` function as the JSON
API, then redirects back with a confirmation (``?done=…``), or shows the page again with the
form's field messages (status 422). Forms are shown only when the person's role and the case's
status allow the action; the workflow checks again, so a hand-made post gets 403 or 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope, org_reachable, org_scope
from server.auth.principal import StaffPrincipal
from server.context import RequestContext, ctx, match_int, staff
from server.db import (
    Case,
    CaseEvent,
    Consultation,
    FollowUp,
    Organisation,
    Rating,
    Routing,
    Staff,
    Summons,
    Supervision,
)
from server.errors import InvalidInput, NotFound
from server.i18n import Translator
from server.schemas.cases import (
    AcceptRequest,
    CloseRequest,
    ConsultationRequest,
    DeclineRequest,
    FeedbackRequest,
    FollowUpRequest,
    FollowUpResultRequest,
    RegisterRequest,
    RouteRequest,
    SummonsReply,
    SupervisionRequest,
)
from server.validation import mask_id_number, mask_phone, parse
from server.views.render import redirect, render
from server.views.staff_common import (
    FormData,
    messages,
    nearby_orgs,
    non_empty,
    orgs_named,
    read_form,
    staff_named,
    staff_or_login,
)
from server.views.staff_queue import render_queue
from server.vocabulary import (
    CENTRE_KINDS,
    CaseStatus,
    DisputeType,
    FollowUpResult,
    Lane,
    NextStep,
    OrgKind,
    Outcome,
    Role,
)
from server.workflow import aftercare, closure, consultation, intake, routing, supervision
from server.workflow.aftercare import FOLLOW_UP_ROLES
from server.workflow.closure import CLOSABLE, CLOSING_ROLES
from server.workflow.intake import INTAKE_ROLES
from server.workflow.routing import ROUTABLE, ROUTING_ROLES
from server.workflow.timeline import events

# Event times in the timeline are shown on the centres' calendar, like the ``datetime`` filter.
CENTRE_TIMEZONE = "Asia/Shanghai"
ROUTE_TARGETS = ("mediator", "room", "centre", "department", "court")
TARGET_KINDS: dict[str, tuple[OrgKind, ...]] = {
    "centre": CENTRE_KINDS,
    "room": (OrgKind.MEDIATION_ROOM,),
    "department": (OrgKind.DEPARTMENT,),
    "court": (OrgKind.COURT,),
}
DONE = (
    "accepted",
    "declined",
    "registered",
    "routed",
    "started",
    "supervised",
    "convened",
    "reported",
    "closed",
    "feedback",
    "follow_up_scheduled",
    "follow_up_done",
)


@dataclass
class TimelineEntry:
    """A timeline event as people read it."""

    event: CaseEvent
    actor: str
    sentence: str
    quote: str


@dataclass
class PartyView:
    """A party with what may be shown of them."""

    id: int
    role: str
    name: str
    id_number: str
    phone: str
    address: str
    represents: str


@dataclass
class Actions:
    """Which forms the person may use on the case as it stands."""

    accept: bool = False
    register: bool = False
    route: bool = False
    start: bool = False
    supervise: bool = False
    consult: bool = False
    close: bool = False
    feedback: bool = False
    follow_up: bool = False
    follow_up_result: bool = False
    summonses: list[Summons] = field(default_factory=list)

    @property
    def any(self) -> bool:
        """Whether there is at least one form to show."""
        return any(
            (
                self.accept,
                self.register,
                self.route,
                self.start,
                self.supervise,
                self.consult,
                self.close,
                self.feedback,
                self.follow_up,
                self.summonses,
            )
        )


def allowed_actions(who: StaffPrincipal, case: Case) -> Actions:
    """Mirror of the role and status checks in ``server.workflow``."""
    role, status = who.role, case.status
    return Actions(
        accept=status == CaseStatus.SUBMITTED and role in INTAKE_ROLES,
        register=status == CaseStatus.ACCEPTED and role in INTAKE_ROLES,
        route=status in ROUTABLE and role in ROUTING_ROLES,
        start=status in (CaseStatus.REGISTERED, CaseStatus.ROUTED)
        and role in (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMINISTRATOR),
        supervise=case.is_open and role in (Role.SUPERVISOR, Role.ADMINISTRATOR),
        consult=case.is_open
        and status != CaseStatus.SUBMITTED
        and role in (Role.SUPERVISOR, Role.ADMINISTRATOR, Role.INTAKE_CLERK),
        close=status in CLOSABLE and role in CLOSING_ROLES,
        feedback=status == CaseStatus.CLOSED
        and case.feedback_at is None
        and role in (*CLOSING_ROLES, Role.INTAKE_CLERK),
        follow_up=status == CaseStatus.CLOSED and role in FOLLOW_UP_ROLES,
        follow_up_result=role in FOLLOW_UP_ROLES,
    )


def _join(t: Translator, items: list[str]) -> str:
    return ("、" if t.locale == "zh-CN" else ", ").join(items)


def _vocab(t: Translator, prefix: str, value: Any) -> str:
    return t(f"{prefix}.{value}") if value else ""


def event_text(t: Translator, event: CaseEvent) -> tuple[str, str]:
    """The sentence for an event, and any free text it carried (a note, reason or reply)."""
    d = event.detail or {}
    kind = event.kind
    quote = str(d.get("note") or d.get("reason") or d.get("response") or d.get("comment") or "")
    if kind == "accepted":
        return t(
            "timeline.accepted",
            channel=_vocab(t, "channel", d.get("channel")),
            first_receiver=d.get("first_receiver", ""),
        ), ""
    if kind == "registered":
        key = "timeline.registered" if d.get("deadline_on") else "timeline.registered_no_deadline"
        return t(
            key,
            number=d.get("number", ""),
            dispute_type=_vocab(t, "dispute_type", d.get("dispute_type")),
            lane=_vocab(t, "lane", d.get("lane")),
            deadline_on=d.get("deadline_on", ""),
        ), ""
    if kind == "routed":
        return t(
            "timeline.routed",
            target=_vocab(t, "route_target", d.get("target")),
            to=d.get("to", ""),
            lane=_vocab(t, "lane", d.get("lane")),
        ), quote
    if kind == "supervised":
        key = "timeline.supervised_by" if d.get("respond_by") else "timeline.supervised"
        if d.get("overdue"):
            key += "_overdue"
        return t(key, respond_by=d.get("respond_by", "")), quote
    if kind == "consultation_convened":
        return t(
            "timeline.consultation_convened",
            departments=_join(t, [str(x) for x in d.get("departments", [])]),
            respond_by=d.get("respond_by", ""),
        ), str(d.get("topic", ""))
    if kind == "department_reported":
        key = (
            "timeline.department_reported_late" if d.get("late") else "timeline.department_reported"
        )
        return t(key, department=d.get("department", "")), quote
    if kind == "closed":
        key = "timeline.closed_next" if d.get("next_step") else "timeline.closed"
        if d.get("overdue"):
            key += "_overdue"
        return t(
            key,
            outcome=_vocab(t, "outcome", d.get("outcome")),
            next_step=_vocab(t, "next_step", d.get("next_step")),
        ), quote
    if kind == "follow_up_scheduled":
        return t(
            "timeline.follow_up_scheduled",
            due_on=d.get("due_on", ""),
            assignee=d.get("assignee", ""),
        ), ""
    if kind == "follow_up_done":
        return t(
            "timeline.follow_up_done", result=_vocab(t, "follow_up_result", d.get("result"))
        ), quote
    if kind == "rated":
        return t("timeline.rated", score=d.get("score", "")), quote
    if kind in (
        "mediation_started",
        "feedback_given",
        "submitted_online",
        "declined",
        "agreement_drafted",
        "agreement_finalised",
        "record_signed_off",
        "record_confirmed",
    ):
        return t(f"timeline.{kind}"), quote
    return _hearing_event_text(t, event), quote


def _local_time(value: object) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(CENTRE_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def _hearing_event_text(t: Translator, event: CaseEvent) -> str:
    """Sentences for the video hearings' events (their wording lives in hearing.json)."""
    d = event.detail or {}
    kind = event.kind
    if kind == "hearing_scheduled" and t.has("timeline.hearing_scheduled"):
        return t(
            "timeline.hearing_scheduled",
            kind=_vocab(t, "hearing.kind", d.get("hearing_kind")),
            starts_at=_local_time(d.get("starts_at", "")),
        )
    if kind == "identity_checked" and t.has("timeline.identity_checked"):
        return t(
            "timeline.identity_checked",
            participant=d.get("participant", ""),
            role=_vocab(t, "hearing.role", d.get("role")),
            outcome=_vocab(t, "hearing.identity_outcome", d.get("outcome")),
        )
    if kind == "recording_consent":
        key = "timeline.recording_consent_" + ("given" if d.get("given") else "declined")
        if t.has(key):
            return t(key, participant=event.actor_label, version=d.get("notice_version", ""))
    return t("timeline.other", kind=kind)


def _actor(t: Translator, event: CaseEvent, people: dict[int, Staff]) -> str:
    if event.actor_id is not None and event.actor_id in people:
        person = people[event.actor_id]
        return f"{person.display_name}（{t('role.' + person.role)}）"
    return event.actor_label or t("timeline.system")


async def _route_choices(db: AsyncSession, who: StaffPrincipal) -> dict[str, Any]:
    """Where the person may send a case (the same rule the workflow enforces)."""
    nearby = [org for org in await nearby_orgs(db, who.org_path) if org_reachable(who, org)]
    by_kind = {
        target: [org for org in nearby if org.kind in kinds]
        for target, kinds in TARGET_KINDS.items()
    }
    ids = [org.id for org in nearby]
    mediators = list(
        (
            await db.execute(
                select(Staff)
                .where(Staff.role == Role.MEDIATOR, Staff.active.is_(True), Staff.org_id.in_(ids))
                .order_by(Staff.org_id, Staff.display_name)
                .limit(500)
            )
        ).scalars()
    )
    return {"route_orgs": by_kind, "mediators": mediators}


async def _assignees(db: AsyncSession, who: StaffPrincipal, case: Case) -> list[Staff]:
    """Staff who could make the visit: a follow-up role, and able to see the case."""
    rows = await db.execute(
        select(Staff)
        .join(Organisation, Organisation.id == Staff.org_id)
        .where(org_scope(who), Staff.active.is_(True), Staff.role.in_(FOLLOW_UP_ROLES))
        .order_by(Organisation.path, Staff.display_name)
        .limit(500)
    )

    def sees(person: Staff) -> bool:
        if person.role == Role.MEDIATOR:
            return person.id == case.mediator_id or person.org_id == case.room_id
        return case.scope_path.startswith(person.org.path)

    return [person for person in rows.scalars() if sees(person)]


async def case_view(
    db: AsyncSession, who: StaffPrincipal, t: Translator, case: Case
) -> dict[str, Any]:
    """Everything the detail page shows about ``case``."""
    await db.refresh(case, ["parties"])
    routings = list(
        (
            await db.execute(select(Routing).where(Routing.case_id == case.id).order_by(Routing.id))
        ).scalars()
    )
    supervisions = list(
        (
            await db.execute(
                select(Supervision).where(Supervision.case_id == case.id).order_by(Supervision.id)
            )
        ).scalars()
    )
    consultations = list(
        (
            await db.execute(
                select(Consultation)
                .where(Consultation.case_id == case.id)
                .order_by(Consultation.id)
            )
        ).scalars()
    )
    ratings = list(
        (
            await db.execute(select(Rating).where(Rating.case_id == case.id).order_by(Rating.id))
        ).scalars()
    )
    visits = list(
        (
            await db.execute(
                select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.id)
            )
        ).scalars()
    )
    timeline = await events(db, case.id)
    summonses = [s for c in consultations for s in c.summonses]
    orgs = await orgs_named(
        db,
        [
            case.centre_id,
            case.room_id,
            case.department_id,
            case.court_id,
            *(r.from_centre_id for r in routings),
            *(r.to_org_id for r in routings),
            *(s.department_id for s in summonses),
        ],
    )
    people = await staff_named(
        db,
        [
            case.mediator_id,
            case.first_receiver_id,
            *(r.by_id for r in routings),
            *(r.to_mediator_id for r in routings),
            *(s.by_id for s in supervisions),
            *(c.convened_by_id for c in consultations),
            *(s.responder_id for s in summonses),
            *(v.assignee_id for v in visits),
            *(v.scheduled_by_id for v in visits),
            *(e.actor_id for e in timeline),
        ],
    )
    names = {p.id: p.name for p in case.parties}
    parties = [
        PartyView(
            id=p.id,
            role=p.role,
            name=p.name,
            id_number=mask_id_number(p.id_number),
            phone=mask_phone(p.phone),
            address=p.address,
            represents=names.get(p.represents_id, "") if p.represents_id else "",
        )
        for p in case.parties
    ]
    entries = []
    for event in reversed(timeline):
        sentence, quote = event_text(t, event)
        entries.append(TimelineEntry(event, _actor(t, event, people), sentence, quote))
    actions = allowed_actions(who, case)
    if who.role == Role.DEPARTMENT_LIAISON:
        actions.summonses = [
            s for s in summonses if s.department_id == who.org_id and s.responded_at is None
        ]
    view: dict[str, Any] = {
        "case": case,
        "orgs": orgs,
        "people": people,
        "parties": parties,
        "party_names": names,
        "routings": routings,
        "supervisions": supervisions,
        "consultations": consultations,
        "ratings": ratings,
        "visits": visits,
        "timeline": entries,
        "actions": actions,
        "dispute_types": list(DisputeType),
        "lanes": list(Lane),
        "outcomes": list(Outcome),
        "next_steps": list(NextStep),
        "follow_up_results": list(FollowUpResult),
        "route_targets": ROUTE_TARGETS,
        "route_orgs": {},
        "mediators": [],
        "departments": [],
        "assignees": [],
    }
    if actions.route or actions.consult:
        view.update(await _route_choices(db, who))
        view["departments"] = view["route_orgs"]["department"]
    if actions.follow_up:
        view["assignees"] = await _assignees(db, who, case)
    return view


async def render_case(
    request: web.Request,
    who: StaffPrincipal,
    case_id: int,
    *,
    active_form: str = "",
    form: dict[str, str] | None = None,
    form_multi: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    """The detail page; with ``active_form`` set, that form shows what was typed and why it
    was refused."""
    context = ctx(request)
    case = await case_in_scope(context.db, who, case_id)
    view = await case_view(context.db, who, context.translate, case)
    done = request.query.get("done", "") if status == 200 else ""
    view.update(
        {
            "active_form": active_form,
            "form": form or {},
            "form_multi": form_multi or {},
            "errors": errors or {},
            "done": done if done in DONE else "",
        }
    )
    return render(request, "staff/case.html", view, status=status)


async def case_page(request: web.Request) -> web.StreamResponse:
    """One case in full."""
    who = staff_or_login(request)
    return await render_case(request, who, match_int(request, "case_id"))


Action = Callable[[RequestContext, StaffPrincipal, int, FormData], Awaitable[None]]


def _action(
    form_name: str, done: str, act: Action, rename: Callable[[FormData], dict[str, str]] | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        who = staff(request)
        case_id = match_int(request, "case_id")
        context = ctx(request)
        form = await read_form(request)
        try:
            await act(context, who, case_id, form)
        except InvalidInput as exc:
            await context.db.rollback()
            return await render_case(
                request,
                who,
                case_id,
                active_form=form_name,
                form=form.values,
                form_multi=form.multi,
                errors=messages(context.translate, exc, rename(form) if rename else None),
                status=422,
            )
        return redirect(f"/cases/{case_id}?done={done}")

    handler.__doc__ = f"Post the {form_name} form."
    return handler


async def _accept(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    req = parse(AcceptRequest, non_empty(f.values, "dispute_type", "lane"))
    await intake.accept_submission(context.db, who, case_id, req, context.today)


async def _decline(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    req = parse(DeclineRequest, non_empty(f.values, "reason"))
    await intake.decline_submission(context.db, who, case_id, req)


async def _register(
    context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData
) -> None:
    req = parse(RegisterRequest, non_empty(f.values, "dispute_type", "lane"))
    await intake.register_by_id(context.db, who, case_id, req)


def _route_data(f: FormData) -> dict[str, Any]:
    data: dict[str, Any] = non_empty(f.values, "target", "reason", "lane")
    target = f.get("target")
    if target == "mediator" and f.get("route_mediator"):
        data["mediator_id"] = f.get("route_mediator")
    elif target in TARGET_KINDS and f.get(f"route_{target}"):
        data["org_code"] = f.get(f"route_{target}")
    return data


def _route_rename(f: FormData) -> dict[str, str]:
    target = f.get("target")
    chosen = f"route_{target}" if target in ROUTE_TARGETS else "target"
    return {"org_code": chosen, "mediator_id": chosen, "body": chosen}


async def _route(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    await routing.route(context.db, who, case_id, parse(RouteRequest, _route_data(f)))


async def _start(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    await routing.start_mediation(context.db, who, case_id)


async def _supervise(
    context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData
) -> None:
    req = parse(SupervisionRequest, non_empty(f.values, "note", "respond_by"))
    await supervision.supervise(context.db, who, case_id, req, context.today)


async def _consult(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    data: dict[str, Any] = non_empty(f.values, "topic", "respond_by")
    data["department_codes"] = f.getall("department_codes")
    req = parse(ConsultationRequest, data)
    await consultation.convene(context.db, who, case_id, req, context.today)


def _consult_rename(f: FormData) -> dict[str, str]:
    return {f"department_codes.{i}": "department_codes" for i in range(10)}


async def _close(context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData) -> None:
    req = parse(CloseRequest, non_empty(f.values, "outcome", "next_step", "note"))
    await closure.close(context.db, who, case_id, req, context.today)


def _close_rename(f: FormData) -> dict[str, str]:
    return {"body": "next_step"}


async def _feedback(
    context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData
) -> None:
    req = parse(FeedbackRequest, non_empty(f.values, "note"))
    await closure.give_feedback(context.db, who, case_id, req)


async def _follow_up(
    context: RequestContext, who: StaffPrincipal, case_id: int, f: FormData
) -> None:
    req = parse(FollowUpRequest, non_empty(f.values, "due_on", "assignee_id"))
    await aftercare.schedule_follow_up(context.db, who, case_id, req)


async def follow_up_result(request: web.Request) -> web.StreamResponse:
    """Record what a follow-up visit of this case found."""
    who = staff(request)
    case_id = match_int(request, "case_id")
    visit_id = match_int(request, "follow_up_id")
    context = ctx(request)
    visit = await context.db.get(FollowUp, visit_id)
    if visit is None or visit.case_id != case_id:
        raise NotFound()
    form = await read_form(request)
    try:
        req = parse(FollowUpResultRequest, non_empty(form.values, "result", "note"))
        await aftercare.record_follow_up(context.db, who, visit_id, req)
    except InvalidInput as exc:
        await context.db.rollback()
        return await render_case(
            request,
            who,
            case_id,
            active_form=f"visit{visit_id}",
            form=form.values,
            errors=messages(context.translate, exc),
            status=422,
        )
    return redirect(f"/cases/{case_id}?done=follow_up_done")


async def summons_reply(request: web.Request) -> web.StreamResponse:
    """A liaison reports for their department, from the work queue or the case page."""
    who = staff(request)
    summons_id = match_int(request, "summons_id")
    context = ctx(request)
    form = await read_form(request)
    back_case = form.get("back") == "case"
    try:
        req = parse(SummonsReply, non_empty(form.values, "response"))
        summons = await consultation.reply(context.db, who, summons_id, req, context.today)
    except InvalidInput as exc:
        await context.db.rollback()
        errors = messages(context.translate, exc)
        active = f"summons{summons_id}"
        found = await context.db.get(Summons, summons_id)
        if back_case and found is not None and found.department_id == who.org_id:
            return await render_case(
                request,
                who,
                found.consultation.case_id,
                active_form=active,
                form=form.values,
                errors=errors,
                status=422,
            )
        return await render_queue(
            request,
            who,
            {"active_form": active, "form": form.values, "errors": errors},
            status=422,
        )
    if back_case:
        return redirect(f"/cases/{summons.consultation.case_id}?done=reported")
    return redirect("/?done=reported")


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/cases/{case_id:[0-9]+}", case_page)
    posts: list[tuple[str, str, str, Action, Callable[[FormData], dict[str, str]] | None]] = [
        ("accept", "accept", "accepted", _accept, None),
        ("decline", "decline", "declined", _decline, None),
        ("register", "register", "registered", _register, None),
        ("route", "route", "routed", _route, _route_rename),
        ("start", "start", "started", _start, None),
        ("supervision", "supervise", "supervised", _supervise, None),
        ("consultations", "consult", "convened", _consult, _consult_rename),
        ("close", "close", "closed", _close, _close_rename),
        ("feedback", "feedback", "feedback", _feedback, None),
        ("follow-ups", "follow_up", "follow_up_scheduled", _follow_up, None),
    ]
    for path, form_name, done, act, rename in posts:
        app.router.add_post(
            f"/cases/{{case_id:[0-9]+}}/{path}", _action(form_name, done, act, rename)
        )
    app.router.add_post(
        "/cases/{case_id:[0-9]+}/follow-ups/{follow_up_id:[0-9]+}/result", follow_up_result
    )
    app.router.add_post("/summonses/{summons_id:[0-9]+}/reply", summons_reply)
