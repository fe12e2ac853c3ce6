"""``/api/cases``: the case workflow over JSON."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from server.access import case_in_scope, require_role
from server.api.routes import api
from server.context import ctx, match_int, staff
from server.db import Case
from server.queries.case_list import CaseListQuery, list_cases
from server.queries.presenters import case_detail, case_summaries, timeline_event
from server.schemas.cases import (
    AcceptRequest,
    CaseDetail,
    CasePage,
    CloseRequest,
    ConsultationRequest,
    DeclineRequest,
    FeedbackRequest,
    FollowUpRequest,
    FollowUpResultRequest,
    IntakeRequest,
    IntakeResult,
    RegisterRequest,
    RouteRequest,
    SummonsOut,
    SummonsReply,
    SupervisionRequest,
    TimelineEvent,
)
from server.vocabulary import Role
from server.workflow import aftercare, closure, consultation, intake, routing, supervision
from server.workflow.timeline import events

TAG = "cases"


class Created(BaseModel):
    """The id of something created."""

    id: int


async def _detail(request: web.Request, case_id: int) -> CaseDetail:
    context = ctx(request)
    case = await case_in_scope(context.db, staff(request), case_id)
    return await case_detail(context.db, case, context.today)


def _links(request: web.Request, tokens: dict[int, str]) -> dict[int, str]:
    from server.appkeys import SETTINGS

    base = request.app[SETTINGS].base_url
    return {party_id: f"{base}/p/{token}" for party_id, token in tokens.items()}


@api.operation(
    "GET",
    "/api/cases",
    summary="List and search cases in scope",
    tag=TAG,
    query=CaseListQuery,
    response=CasePage,
)
async def cases_list(request: web.Request, query: CaseListQuery) -> CasePage:
    """Cases the caller may see, newest first, with keyset pagination."""
    context = ctx(request)
    page = await list_cases(context.db, staff(request), query, context.today)
    return CasePage(
        items=await case_summaries(context.db, page.cases, context.today),
        next_cursor=page.next_cursor,
    )


@api.operation(
    "POST",
    "/api/cases",
    summary="Intake (统一受理): accept a dispute",
    tag=TAG,
    body=IntakeRequest,
    response=IntakeResult,
    status=201,
)
async def case_intake(request: web.Request, body: IntakeRequest) -> IntakeResult:
    """Accept a dispute at the one window; registered at once when a type is given."""
    context = ctx(request)
    case, tokens = await intake.intake(context.db, staff(request), body, context.today)
    return IntakeResult(
        case=await case_detail(context.db, case, context.today),
        party_links=_links(request, tokens),
    )


@api.operation(
    "GET",
    "/api/cases/{case_id}",
    summary="One case",
    tag=TAG,
    response=CaseDetail,
)
async def case_get(request: web.Request) -> CaseDetail:
    """A case in the caller's scope."""
    return await _detail(request, match_int(request, "case_id"))


@api.operation(
    "GET",
    "/api/cases/{case_id}/timeline",
    summary="A case's timeline",
    tag=TAG,
    response=list[TimelineEvent],
)
async def case_timeline(request: web.Request) -> list[TimelineEvent]:
    """Every event of a case, oldest first."""
    context = ctx(request)
    case = await case_in_scope(context.db, staff(request), match_int(request, "case_id"))
    return [timeline_event(e) for e in await events(context.db, case.id)]


@api.operation(
    "POST",
    "/api/cases/{case_id}/accept",
    summary="Accept an online submission",
    tag=TAG,
    body=AcceptRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_accept(request: web.Request, body: AcceptRequest) -> CaseDetail:
    """Accept a citizen's submission at the window."""
    context = ctx(request)
    case = await intake.accept_submission(
        context.db, staff(request), match_int(request, "case_id"), body, context.today
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/decline",
    summary="Decline an online submission",
    tag=TAG,
    body=DeclineRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_decline(request: web.Request, body: DeclineRequest) -> CaseDetail:
    """Do not accept a citizen's submission, with the reason they will read."""
    context = ctx(request)
    case = await intake.decline_submission(
        context.db, staff(request), match_int(request, "case_id"), body
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/register",
    summary="Registration (登记)",
    tag=TAG,
    body=RegisterRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_register(request: web.Request, body: RegisterRequest) -> CaseDetail:
    """Give an accepted case its type and number."""
    context = ctx(request)
    case = await intake.register_by_id(
        context.db, staff(request), match_int(request, "case_id"), body
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/route",
    summary="Routing and transfer (分流转办)",
    tag=TAG,
    body=RouteRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_route(request: web.Request, body: RouteRequest) -> CaseDetail:
    """Send a case to a centre, room, department, court or mediator."""
    context = ctx(request)
    case = await routing.route(context.db, staff(request), match_int(request, "case_id"), body)
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/start",
    summary="Start mediation",
    tag=TAG,
    response=CaseDetail,
    errors=(409,),
)
async def case_start(request: web.Request) -> CaseDetail:
    """The mediator takes the case up."""
    context = ctx(request)
    case = await routing.start_mediation(context.db, staff(request), match_int(request, "case_id"))
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/supervision",
    summary="Supervision note (督办)",
    tag=TAG,
    body=SupervisionRequest,
    response=CaseDetail,
    status=201,
)
async def case_supervise(request: web.Request, body: SupervisionRequest) -> CaseDetail:
    """Record a supervisor's note."""
    context = ctx(request)
    case = await supervision.supervise(
        context.db, staff(request), match_int(request, "case_id"), body, context.today
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/consultations",
    summary="Joint consultation (会商研判): summon departments",
    tag=TAG,
    body=ConsultationRequest,
    response=Created,
    status=201,
    errors=(409,),
)
async def case_consult(request: web.Request, body: ConsultationRequest) -> Created:
    """The centre blows the whistle; the departments must report by the date."""
    context = ctx(request)
    convened = await consultation.convene(
        context.db, staff(request), match_int(request, "case_id"), body, context.today
    )
    return Created(id=convened.id)


@api.operation(
    "GET",
    "/api/summonses",
    summary="The summonses of the caller's department (报到 queue)",
    tag=TAG,
    response=list[SummonsOut],
)
async def summons_queue(request: web.Request) -> list[SummonsOut]:
    """A department liaison's summonses, unanswered first."""
    context = ctx(request)
    who = staff(request)
    require_role(who, Role.DEPARTMENT_LIAISON)
    result: list[SummonsOut] = []
    for summons in await consultation.queue_for_department(context.db, who.org_id):
        case = await context.db.get(Case, summons.consultation.case_id)
        assert case is not None
        result.append(
            SummonsOut(
                id=summons.id,
                case_id=case.id,
                case_number=case.number,
                case_title=case.title,
                topic=summons.consultation.topic,
                respond_by=summons.consultation.respond_by,
                status=summons.status,
                responded_at=summons.responded_at,
                response=summons.response,
            )
        )
    return result


@api.operation(
    "POST",
    "/api/summonses/{summons_id}/reply",
    summary="A department reports (报到)",
    tag=TAG,
    body=SummonsReply,
    response=Created,
    errors=(409,),
)
async def summons_reply(request: web.Request, body: SummonsReply) -> Created:
    """A summoned department's liaison reports."""
    context = ctx(request)
    summons = await consultation.reply(
        context.db, staff(request), match_int(request, "summons_id"), body, context.today
    )
    return Created(id=summons.id)


@api.operation(
    "POST",
    "/api/cases/{case_id}/close",
    summary="Closure (办结)",
    tag=TAG,
    body=CloseRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_close(request: web.Request, body: CloseRequest) -> CaseDetail:
    """Record the outcome."""
    context = ctx(request)
    case = await closure.close(
        context.db, staff(request), match_int(request, "case_id"), body, context.today
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/feedback",
    summary="Closure feedback (办结反馈)",
    tag=TAG,
    body=FeedbackRequest,
    response=CaseDetail,
    errors=(409,),
)
async def case_feedback(request: web.Request, body: FeedbackRequest) -> CaseDetail:
    """Tell the parties how the case ended."""
    context = ctx(request)
    case = await closure.give_feedback(
        context.db, staff(request), match_int(request, "case_id"), body
    )
    return await case_detail(context.db, case, context.today)


@api.operation(
    "POST",
    "/api/cases/{case_id}/follow-ups",
    summary="Schedule a follow-up visit (回访)",
    tag=TAG,
    body=FollowUpRequest,
    response=Created,
    status=201,
    errors=(409,),
)
async def case_follow_up(request: web.Request, body: FollowUpRequest) -> Created:
    """Schedule a visit after closure."""
    context = ctx(request)
    visit = await aftercare.schedule_follow_up(
        context.db, staff(request), match_int(request, "case_id"), body
    )
    return Created(id=visit.id)


@api.operation(
    "POST",
    "/api/follow-ups/{follow_up_id}/result",
    summary="Record a follow-up visit",
    tag=TAG,
    body=FollowUpResultRequest,
    response=Created,
    errors=(409,),
)
async def follow_up_result(request: web.Request, body: FollowUpResultRequest) -> Created:
    """What the visit found."""
    context = ctx(request)
    visit = await aftercare.record_follow_up(
        context.db, staff(request), match_int(request, "follow_up_id"), body
    )
    return Created(id=visit.id)
