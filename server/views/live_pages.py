"""The live hearing pages: the join page (device check, identity, consent) and the live page
(waiting room and the hearing itself). Both are thin: the browser client in
``web/static/js/live/`` does the work, fed by a JSON block the page carries (CSP allows no
inline script, and a non-executed ``application/json`` block is not one)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from server.appkeys import SETTINGS
from server.auth.principal import ParticipantPrincipal, StaffPrincipal
from server.context import ctx, match_int
from server.db import Case, Hearing, HearingParticipant
from server.errors import NotFound
from server.hearings.consent import RECORDING_NOTICE_VERSION
from server.hearings.presenters import join_info
from server.hearings.seats import own_seat, staff_seat
from server.hearings.vocabulary import PARTY_SIDE_ROLES, PRESIDING_ROLES
from server.i18n import Translator
from server.middleware import anon_csrf_token
from server.views.hearing_pages import InvitationInvalid
from server.views.render import render

# Catalogue prefixes the client needs in the browser (its own strings and the role names).
CLIENT_KEY_PREFIXES = ("live.", "hearing.role.", "hearing.kind.")


@dataclass(frozen=True)
class LivePage:
    """What the join and live templates show and hand to the browser client."""

    hearing_id: int
    case_id: int
    participant_id: int
    name: str
    role: str
    kind: str
    title: str
    starts_at: dt.datetime
    presiding: bool
    via_link: bool
    # Steps before the room, in order: identity only for the parties; consent and the
    # waiting room for everyone who does not preside.
    steps: tuple[str, ...]
    notice_version: str
    identity_declared: bool
    consent: str | None  # "given", "declined" or None (not answered yet)
    join_url: str
    live_url: str


def _steps(seat: HearingParticipant, via_link: bool) -> tuple[str, ...]:
    steps: tuple[str, ...] = ("device_check",)
    # The identity and consent APIs answer link sessions only: a logged-in staff member
    # joins in their official capacity and is not asked.
    if via_link and seat.role in PARTY_SIDE_ROLES:
        steps += ("identity",)
    if seat.role not in PRESIDING_ROLES:
        if via_link:
            steps += ("consent",)
        steps += ("waiting_room",)
    return steps


async def _page(request: web.Request, seat: HearingParticipant, hearing: Hearing) -> LivePage:
    context = ctx(request)
    via_link = isinstance(context.principal, ParticipantPrincipal)
    case = await context.db.get(Case, hearing.case_id)
    assert case is not None
    declared = False
    consent: str | None = None
    if via_link:
        info = await join_info(context.db, seat, hearing)
        declared = info.identity_declared
        if info.consent is not None:
            consent = "given" if info.consent.given else "declined"
    base = "" if via_link else f"/hearings/{hearing.id}"
    return LivePage(
        hearing_id=hearing.id,
        case_id=hearing.case_id,
        participant_id=seat.id,
        name=seat.name,
        role=str(seat.role),
        kind=str(hearing.kind),
        title=case.title,
        starts_at=hearing.starts_at,
        presiding=seat.role in PRESIDING_ROLES,
        via_link=via_link,
        steps=_steps(seat, via_link),
        notice_version=RECORDING_NOTICE_VERSION,
        identity_declared=declared,
        consent=consent,
        join_url=f"{base}/join",
        live_url=f"{base}/live",
    )


def client_config(request: web.Request, page: LivePage, when: str) -> dict[str, Any]:
    """The JSON the browser client reads: the seat, the URLs, ICE servers and its strings."""
    translate: Translator = ctx(request).translate
    data = asdict(page)
    data["starts_at"] = page.starts_at.isoformat()
    data["starts_at_text"] = when
    data["steps"] = list(page.steps)
    data["locale"] = translate.locale
    data["csrf_token"] = ctx(request).csrf_token or anon_csrf_token(request)
    data["ice_servers"] = []
    data["socket_path"] = "/socket.io/"
    # Where the hearing's room is (another worker's path when there are several).
    data["worker_url"] = f"/api/live/worker?hearing_id={page.hearing_id}"
    data["namespace"] = "/live"
    merged = {**translate.fallback, **translate.messages}
    data["strings"] = {k: v for k, v in merged.items() if k.startswith(CLIENT_KEY_PREFIXES)}
    return data


async def _seat(request: web.Request) -> tuple[HearingParticipant, Hearing]:
    """The requester's seat: through their link (``/join``, ``/live``) or as logged-in staff
    holding a seat (``/hearings/{id}/…``). Anyone else finds nothing."""
    context = ctx(request)
    who = context.principal
    if "hearing_id" in request.match_info:
        if not isinstance(who, StaffPrincipal):
            raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
        hearing = await context.db.get(Hearing, match_int(request, "hearing_id"))
        seat = await staff_seat(context.db, who, hearing.id) if hearing is not None else None
        if hearing is None or seat is None:
            raise NotFound()
        return seat, hearing
    if not isinstance(who, ParticipantPrincipal):
        raise InvitationInvalid()
    return await own_seat(context.db, who)


def _when(request: web.Request, page: LivePage) -> str:
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    return page.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def join_page(request: web.Request) -> web.StreamResponse:
    """``/join`` and ``/hearings/{id}/join``: device check, identity, consent."""
    seat, hearing = await _seat(request)
    page = await _page(request, seat, hearing)
    when = _when(request, page)
    return render(
        request,
        "hearing/join.html",
        {"page": page, "config": client_config(request, page, when), "when": when},
    )


async def live_page(request: web.Request) -> web.StreamResponse:
    """``/live`` and ``/hearings/{id}/live``: the waiting room and the hearing. A party who
    has not declared identity or answered the notice is sent back to the join page first."""
    seat, hearing = await _seat(request)
    page = await _page(request, seat, hearing)
    if ("identity" in page.steps and not page.identity_declared) or (
        "consent" in page.steps and page.consent is None
    ):
        raise web.HTTPSeeOther(page.join_url)
    when = _when(request, page)
    return render(
        request,
        "hearing/live.html",
        {"page": page, "config": client_config(request, page, when), "when": when},
    )


def add_routes(app: web.Application) -> None:
    """Routes of the join and live pages."""
    app.router.add_get("/join", join_page)
    app.router.add_get("/live", live_page)
    app.router.add_get("/hearings/{hearing_id:[0-9]+}/join", join_page)
    app.router.add_get("/hearings/{hearing_id:[0-9]+}/live", live_page)
