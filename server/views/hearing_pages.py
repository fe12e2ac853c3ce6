"""Hearing pages: a case's hearings, scheduling, the hearing page with its links and QR codes,
and opening a link (``/join/{token}`` exchanged for a session, then the join page of
``server.views.live_pages``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_in_scope
from server.appkeys import SETTINGS
from server.auth.login import set_session_cookie
from server.auth.principal import StaffPrincipal
from server.auth.sessions import open_session
from server.context import ctx, match_int
from server.db import Case, Consultation, Staff, Summons
from server.db.base import utcnow
from server.errors import InvalidInput, NotFound
from server.hearings import invitations, live, scheduling
from server.hearings.invitations import IssuedLink
from server.hearings.presenters import hearing_detail, join_url
from server.hearings.qr import qr_svg
from server.hearings.seats import staff_seat
from server.hearings.vocabulary import (
    HearingKind,
    ParticipantRole,
)
from server.schemas.hearings import HearingDetail, ScheduleRequest
from server.validation import parse
from server.views.render import redirect, render
from server.vocabulary import Role

GUEST_ROWS = 3


class InvitationInvalid(NotFound):
    """Unknown, expired and revoked links get this one page, alike."""

    key = "error.hearing_link_invalid"


def _staff_or_login(request: web.Request) -> StaffPrincipal:
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
    return who


# ---------------------------------------------------------------- the hearing page


@dataclass(frozen=True)
class NewLink:
    """A link issued by this request: shown now and never again."""

    url: str
    qr: Markup
    expires_at: dt.datetime


@dataclass(frozen=True)
class HearingPage:
    """Context of ``hearing/hearing.html``."""

    hearing: HearingDetail
    case: Case
    can_manage: bool
    is_participant: bool
    new_links: dict[int, NewLink] = field(default_factory=dict)


async def _hearing_page(
    request: web.Request, hearing_id: int, links: list[IssuedLink] | None = None
) -> web.Response:
    context = ctx(request)
    who = _staff_or_login(request)
    hearing = await scheduling.hearing_in_scope(context.db, who, hearing_id)
    case = await context.db.get(Case, hearing.case_id)
    assert case is not None
    base_url = request.app[SETTINGS].base_url
    new_links = {}
    for link in links or []:
        url = join_url(base_url, link.token)
        new_links[link.participant_id] = NewLink(url, qr_svg(url), link.expires_at)
    page = HearingPage(
        hearing=await hearing_detail(context.db, hearing),
        case=case,
        can_manage=who.role in scheduling.SCHEDULING_ROLES,
        is_participant=await staff_seat(context.db, who, hearing.id) is not None,
        new_links=new_links,
    )
    return render(request, "hearing/hearing.html", {"page": page})


async def hearing_page(request: web.Request) -> web.StreamResponse:
    """``/hearings/{id}``: the hearing, its participants' links, identity checks and consents."""
    return await _hearing_page(request, match_int(request, "hearing_id"))


async def issue_links(request: web.Request) -> web.StreamResponse:
    """Issue new links (all, or one participant's) and show them on the page, this once."""
    context = ctx(request)
    who = _staff_or_login(request)
    hearing = await scheduling.manageable_hearing(context.db, who, match_int(request, "hearing_id"))
    form = await request.post()
    wanted = str(form.get("participant", ""))
    await context.db.refresh(hearing, ["participants"])
    seats = [s for s in hearing.participants if not wanted or str(s.id) == wanted]
    if not seats:
        raise NotFound()
    expires_at = scheduling.default_expiry(hearing.starts_at, request.app[SETTINGS].timezone)
    if expires_at <= utcnow():
        # The hearing's day is long past: a fresh link still gets a day to be used.
        expires_at = utcnow() + dt.timedelta(days=1)
    links = [
        await invitations.issue(context.db, seat, expires_at=expires_at, by_staff_id=who.staff_id)
        for seat in seats
    ]
    await context.db.commit()
    await request.app[live.REVOCATIONS].publish(r for link in links for r in link.replaced)
    return await _hearing_page(request, hearing.id, links)


async def revoke_link(request: web.Request) -> web.StreamResponse:
    """Revoke one participant's link; whoever is in through it is out."""
    context = ctx(request)
    who = _staff_or_login(request)
    hearing = await scheduling.manageable_hearing(context.db, who, match_int(request, "hearing_id"))
    seat = await scheduling.seat_of(context.db, hearing, match_int(request, "participant_id"))
    revoked = await invitations.revoke(context.db, seat, by_staff_id=who.staff_id)
    await context.db.commit()
    await request.app[live.REVOCATIONS].publish(revoked)
    return redirect(f"/hearings/{hearing.id}?done=revoked#participant-{seat.id}")


async def case_hearings(request: web.Request) -> web.StreamResponse:
    """``/cases/{id}/hearings``: a case's hearings, and the way to schedule one."""
    context = ctx(request)
    who = _staff_or_login(request)
    case_id = match_int(request, "case_id")
    case = await case_in_scope(context.db, who, case_id)
    hearings = await scheduling.hearings_of_case(context.db, who, case_id)
    return render(
        request,
        "hearing/case_hearings.html",
        {
            "case": case,
            "hearings": hearings,
            "can_schedule": who.role in scheduling.SCHEDULING_ROLES,
        },
    )


# ---------------------------------------------------------------- scheduling


@dataclass(frozen=True)
class Candidate:
    """A staff member the schedule form offers, with the seats they may hold."""

    staff_id: int
    name: str
    seats: list[ParticipantRole]
    checked: bool


@dataclass
class ScheduleForm:
    """Context of ``hearing/schedule.html``."""

    case: Case
    kinds: list[HearingKind]
    candidates: list[Candidate]
    guest_roles: list[ParticipantRole]
    values: dict[str, str]
    party_ids: set[int]
    staff_ids: set[int]
    errors: dict[str, str] = field(default_factory=dict)


def _seats_for(role: Role) -> list[ParticipantRole]:
    return [seat for seat, roles in scheduling.STAFF_SEATS.items() if role in roles]


async def _candidates(db: AsyncSession, who: StaffPrincipal, case: Case) -> list[Staff]:
    """Staff likely to take part: the scheduler, the case's mediator, its room's mediators, its
    court's judges and clerks, and the liaisons of its department and summoned departments."""
    summoned = (
        select(Summons.department_id)
        .join(Consultation, Consultation.id == Summons.consultation_id)
        .where(Consultation.case_id == case.id)
    )
    orgs = [o for o in (case.room_id, case.court_id, case.department_id) if o is not None]
    rows = await db.execute(
        select(Staff)
        .where(
            Staff.active.is_(True),
            or_(
                Staff.id.in_([i for i in (who.staff_id, case.mediator_id) if i is not None]),
                Staff.org_id.in_(orgs),
                Staff.org_id.in_(summoned),
            ),
        )
        .order_by(Staff.id)
        .limit(50)
    )
    return list(rows.scalars())


async def _schedule_form(
    request: web.Request,
    case: Case,
    values: dict[str, str] | None = None,
    party_ids: set[int] | None = None,
    staff_ids: set[int] | None = None,
    errors: dict[str, str] | None = None,
) -> web.Response:
    context = ctx(request)
    who = _staff_or_login(request)
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    now = dt.datetime.now(zone)
    default_staff = {who.staff_id} | ({case.mediator_id} if case.mediator_id else set())
    members = await _candidates(context.db, who, case)
    candidates = [
        Candidate(
            m.id,
            m.display_name,
            _seats_for(m.role),
            m.id in (staff_ids if staff_ids is not None else default_staff),
        )
        for m in members
        if _seats_for(m.role)
    ]
    form = ScheduleForm(
        case=case,
        kinds=[k for k in HearingKind if scheduling.kind_allowed(who, k)],
        candidates=candidates,
        guest_roles=sorted(scheduling.OUTSIDE_SEATS | scheduling.GROUP_SEATS),
        values=values
        or {"date": now.date().isoformat(), "time": now.strftime("%H:%M"), "duration": "60"},
        party_ids=party_ids if party_ids is not None else {p.id for p in case.parties},
        staff_ids=staff_ids if staff_ids is not None else default_staff,
        errors=errors or {},
    )
    return render(
        request,
        "hearing/schedule.html",
        {"form": form, "guest_rows": range(GUEST_ROWS)},
        status=422 if errors else 200,
    )


async def schedule_page(request: web.Request) -> web.StreamResponse:
    """The schedule form for a case in scope."""
    context = ctx(request)
    who = _staff_or_login(request)
    case = await case_in_scope(context.db, who, match_int(request, "case_id"))
    return await _schedule_form(request, case)


def _schedule_data(
    posted: Any, case: Case, timezone: str
) -> tuple[dict[str, Any], dict[str, str], set[int], set[int]]:
    """The form as a :class:`ScheduleRequest` body, the raw values, and the chosen ids."""
    values = {k: str(v).strip() for k, v in posted.items() if isinstance(v, str) and k != "_csrf"}
    party_ids = {int(v) for v in posted.getall("party", []) if str(v).isdigit()}
    staff_ids = {int(v) for v in posted.getall("staff", []) if str(v).isdigit()}
    participants: list[dict[str, Any]] = []
    for party in case.parties:
        if party.id in party_ids:
            participants.append({"kind": "party", "party_id": party.id, "role": str(party.role)})
    for staff_id in sorted(staff_ids):
        participants.append(
            {"kind": "staff", "staff_id": staff_id, "role": values.get(f"seat_{staff_id}", "")}
        )
    for row in range(GUEST_ROWS):
        name = values.get(f"guest_name_{row}", "")
        if not name:
            continue
        group = values.get(f"guest_group_{row}") == "1"
        item: dict[str, Any] = {
            "kind": "group" if group else "guest",
            "name": name,
            "role": values.get(f"guest_role_{row}", ""),
        }
        if group and values.get(f"guest_headcount_{row}"):
            item["headcount"] = values[f"guest_headcount_{row}"]
        participants.append(item)
    data: dict[str, Any] = {
        "kind": values.get("kind", ""),
        "duration_minutes": values.get("duration") or "60",
        "note": values.get("note", ""),
        "participants": participants,
    }
    try:
        day = dt.date.fromisoformat(values.get("date", ""))
        clock = dt.time.fromisoformat(values.get("time", ""))
        data["starts_at"] = dt.datetime.combine(day, clock, tzinfo=ZoneInfo(timezone))
    except ValueError:
        data["starts_at"] = ""
    return data, values, party_ids, staff_ids


def _form_errors(request: web.Request, exc: InvalidInput) -> dict[str, str]:
    t = ctx(request).translate
    out: dict[str, str] = {}
    for loc, err in exc.fields.items():
        top = loc.split(".")[0]
        label = t(f"hearing.field.{top}") if t.has(f"hearing.field.{top}") else loc
        out.setdefault(loc, f"{label}: {t(err.key, **err.params)}")
    return out


async def schedule_submit(request: web.Request) -> web.StreamResponse:
    """Schedule the hearing, then show its page, where its links are issued."""
    context = ctx(request)
    who = _staff_or_login(request)
    case = await case_in_scope(context.db, who, match_int(request, "case_id"))
    settings = request.app[SETTINGS]
    data, values, party_ids, staff_ids = _schedule_data(
        await request.post(), case, settings.timezone
    )
    try:
        hearing, _ = await scheduling.schedule(
            context.db,
            who,
            case.id,
            parse(ScheduleRequest, data),
            timezone=settings.timezone,
            issue_links=False,
        )
    except InvalidInput as exc:
        # Nothing was added yet; the 422 response rolls the transaction back anyway.
        return await _schedule_form(
            request, case, values, party_ids, staff_ids, _form_errors(request, exc)
        )
    return redirect(f"/hearings/{hearing.id}?done=scheduled")


# ---------------------------------------------------------------- joining


async def join_link(request: web.Request) -> web.StreamResponse:
    """``/join/{token}``: exchange the token for a session cookie and drop it from the address
    bar. Unknown, expired and revoked tokens all get the same page."""
    context = ctx(request)
    found = await invitations.exchange(context.db, request.match_info["token"])
    if found is None:
        raise InvitationInvalid()
    invitation, seat = found
    who = context.principal
    if isinstance(who, StaffPrincipal) and who.staff_id == seat.staff_id:
        # Their own link, opened where they are logged in: keep the staff session.
        return redirect(f"/hearings/{seat.hearing_id}/join")
    settings = request.app[SETTINGS]
    # The session lasts no longer than the link it came from.
    lifetime = int((invitation.expires_at - utcnow()).total_seconds())
    token, _ = await open_session(
        context.db,
        max_age_s=max(1, min(settings.session_max_age_s, lifetime)),
        participant_id=seat.id,
        locale=context.translate.locale,
    )
    response = redirect("/join")
    set_session_cookie(settings, response, token)
    return response


def add_routes(app: web.Application) -> None:
    """Routes of this module; also gives the app the hearings' revocation hub."""
    live.install(app)
    app.router.add_get("/cases/{case_id:[0-9]+}/hearings", case_hearings)
    app.router.add_get("/cases/{case_id:[0-9]+}/hearings/new", schedule_page)
    app.router.add_post("/cases/{case_id:[0-9]+}/hearings/new", schedule_submit)
    app.router.add_get("/hearings/{hearing_id:[0-9]+}", hearing_page)
    app.router.add_post("/hearings/{hearing_id:[0-9]+}/links", issue_links)
    app.router.add_post(
        "/hearings/{hearing_id:[0-9]+}/participants/{participant_id:[0-9]+}/revoke", revoke_link
    )
    app.router.add_get("/join/{token}", join_link)
