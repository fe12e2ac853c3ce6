"""A party's personal link: exchanged for a session at once, then their case's status page
(``/my-case``), the satisfaction rating (群众评价) and a way to leave."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.appkeys import SETTINGS
from server.auth.login import set_session_cookie
from server.auth.principal import PartyPrincipal
from server.auth.sessions import SESSION_COOKIE, close_session, open_session
from server.confirmation.party_view import confirmation_view
from server.context import ctx, party
from server.db import Case, CaseEvent, FollowUp, Organisation, Party, Rating
from server.errors import BilinError, FieldError, NotFound
from server.i18n import Translator
from server.schemas.cases import RatingRequest
from server.validation import mask_id_number, parse
from server.views.render import redirect, render
from server.vocabulary import CaseStatus, PartyRole
from server.workflow import aftercare
from server.workflow.submission import party_for_token
from server.workflow.timeline import events

# 受理 → 登记 → 分流 → 调解 → 办结 → 回访, as the party sees them.
STEPS: tuple[str, ...] = ("intake", "registration", "routing", "mediation", "closure", "follow_up")
STEP_OF_STATUS: dict[CaseStatus, int] = {
    CaseStatus.SUBMITTED: 0,
    CaseStatus.ACCEPTED: 0,
    CaseStatus.REGISTERED: 1,
    CaseStatus.ROUTED: 2,
    CaseStatus.MEDIATING: 3,
    CaseStatus.CLOSED: 4,
}
# Only these timeline events are shown to parties, and only through the sentences of
# ``public_event``: supervision, consultation, department reports, routing reasons, closing
# notes and staff names are internal.
PUBLIC_EVENTS = frozenset(
    {
        "submitted_online",
        "accepted",
        "declined",
        "registered",
        "routed",
        "mediation_started",
        "closed",
        "feedback_given",
        "follow_up_done",
        # The agreement and judicial confirmation (texts in web/i18n/*/confirmation.json).
        "agreement_sealed",
        "confirmation_filed",
        "confirmation_decided",
    }
)


@dataclass(frozen=True)
class Step:
    """One step of the progress picture."""

    key: str
    state: str  # "done", "current" or "upcoming"


@dataclass(frozen=True)
class PublicEvent:
    """A timeline entry in plain words."""

    at: dt.datetime
    text: str


def progress(case: Case, followed_up: bool) -> list[Step]:
    """The six steps with the current one marked (none for a declined submission)."""
    if case.status not in STEP_OF_STATUS:
        return []
    current = STEP_OF_STATUS[case.status]
    if case.status == CaseStatus.CLOSED and followed_up:
        current = STEPS.index("follow_up")
    return [
        Step(key, "done" if i < current else "current" if i == current else "upcoming")
        for i, key in enumerate(STEPS)
    ]


def public_event(event: CaseEvent, t: Translator) -> PublicEvent | None:
    """``event`` as a party may read it, or ``None`` if it is internal."""
    if event.kind not in PUBLIC_EVENTS:
        return None
    detail = event.detail or {}
    if event.kind == "registered":
        text = t("public.event.registered", number=detail.get("number") or "")
    elif event.kind == "routed":
        # A mediator is a person: say one was assigned, not who (no staff names here).
        if detail.get("target") == "mediator" or not detail.get("to"):
            text = t("public.event.routed_mediator")
        else:
            text = t("public.event.routed", to=detail["to"])
    elif event.kind == "closed":
        text = t("public.event.closed", outcome=t(f"public.outcome.{detail.get('outcome')}"))
    else:
        text = t(f"public.event.{event.kind}")
    return PublicEvent(event.at, text)


async def _case_page(
    request: web.Request,
    who: PartyPrincipal,
    *,
    error: str | None = None,
    rating_errors: dict[str, str] | None = None,
    rating_values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = ctx(request)
    db: AsyncSession = context.db
    case = await db.get(Case, who.case_id)
    me = await db.get(Party, who.party_id)
    if case is None or me is None:
        raise NotFound()
    await db.refresh(case, ["parties"])
    centre = await db.get(Organisation, case.centre_id)
    followed_up = (
        await db.execute(select(FollowUp.id).where(FollowUp.case_id == case.id).limit(1))
    ).first() is not None
    rating = (
        await db.execute(select(Rating).where(Rating.case_id == case.id, Rating.party_id == me.id))
    ).scalar_one_or_none()
    timeline = [
        item
        for item in (public_event(e, context.translate) for e in await events(db, case.id))
        if item is not None
    ]
    timeline.reverse()
    page: dict[str, Any] = {
        "case": case,
        "me": me,
        "my_id_masked": mask_id_number(me.id_number) if me.id_number else "",
        "centre_name": centre.name if centre else "",
        "steps": progress(case, followed_up),
        "timeline": timeline,
        "rating": rating,
        "can_rate": case.status == CaseStatus.CLOSED
        and rating is None
        and me.role != PartyRole.AGENT,
        "is_agent": me.role == PartyRole.AGENT,
        "error": error,
        "rating_errors": rating_errors or {},
        "rating_values": rating_values or {"score": "", "comment": ""},
        "done": request.query.get("done", "") if status == 200 else "",
    }
    # The agreement, its signatures and the joint application (server/confirmation).
    page.update(await confirmation_view(db, case, me, context.today, who))
    return render(request, "public/my_case.html", page, status=status)


async def link_exchange(request: web.Request) -> web.StreamResponse:
    """``/p/{token}``: open a party session and drop the token from the address bar."""
    context = ctx(request)
    party_row = await party_for_token(context.db, request.match_info["token"])
    if party_row is None:
        raise NotFound()
    settings = request.app[SETTINGS]
    if context.session_token:
        # One browser, one identity: whoever was signed in here is signed out.
        await close_session(context.db, context.session_token)
    token, _ = await open_session(
        context.db,
        max_age_s=settings.session_max_age_s,
        party_id=party_row.id,
        locale=context.translate.locale,
    )
    response = redirect("/my-case")
    set_session_cookie(settings, response, token)
    return response


async def my_case(request: web.Request) -> web.StreamResponse:
    """``GET /my-case``: the party's own case in plain words (anyone else: not found)."""
    return await _case_page(request, party(request))


async def rate_submit(request: web.Request) -> web.StreamResponse:
    """``POST /my-case/rating``: the satisfaction rating, once, after closure."""
    who = party(request)
    context = ctx(request)
    form = await request.post()
    score = form.get("score")
    comment = form.get("comment")
    values = {
        "score": score if isinstance(score, str) else "",
        "comment": comment if isinstance(comment, str) else "",
    }
    data: dict[str, str] = {"comment": values["comment"]}
    if values["score"]:
        data["score"] = values["score"]
    try:
        await aftercare.rate(context.db, who, parse(RatingRequest, data))
    except BilinError as exc:
        t = context.translate
        fields = dict(exc.fields)
        if "score" in fields:
            fields["score"] = FieldError("public.rating.score_required")
        return await _case_page(
            request,
            who,
            error=t(exc.key, **exc.params),
            rating_errors={name: t(err.key, **err.params) for name, err in fields.items()},
            rating_values=values,
            status=exc.status,
        )
    return redirect("/my-case#rating")


async def leave(request: web.Request) -> web.StreamResponse:
    """``POST /my-case/leave``: end the party session on this device."""
    party(request)
    context = ctx(request)
    if context.session_token:
        await close_session(context.db, context.session_token)
    response = redirect("/my-case/left")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def left(request: web.Request) -> web.StreamResponse:
    """``GET /my-case/left``: how to come back."""
    return render(request, "public/left.html")


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/p/{token}", link_exchange)
    app.router.add_get("/my-case", my_case)
    app.router.add_post("/my-case/rating", rate_submit)
    app.router.add_post("/my-case/leave", leave)
    app.router.add_get("/my-case/left", left)
