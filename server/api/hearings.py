"""``/api/.../hearings`` and ``/api/join``: scheduling hearings, their invitation links, and what
a participant does before the hearing (declaring identity, answering the recording notice)."""

from __future__ import annotations

from aiohttp import web

from server.api.routes import api
from server.appkeys import SETTINGS
from server.auth.principal import ParticipantPrincipal, StaffPrincipal
from server.context import ctx, match_int, staff
from server.db import Hearing
from server.errors import NotFound
from server.hearings import consent, identity, invitations, scheduling
from server.hearings.live import REVOCATIONS
from server.hearings.presenters import (
    consent_out,
    hearing_detail,
    hearing_summary,
    issued_links_out,
    join_info,
    participants_out,
)
from server.hearings.seats import acting_seat, own_seat
from server.hearings.vocabulary import PRESIDING_ROLES
from server.schemas.hearings import (
    ConsentOut,
    ConsentRequest,
    HearingDetail,
    HearingSummary,
    IdentityCheckRequest,
    IdentityDeclarationRequest,
    IdentityOut,
    IssuedLinkOut,
    JoinInfo,
    NoticeOut,
    ParticipantOut,
    ReissueRequest,
    ScheduleRequest,
    ScheduleResult,
)

TAG = "hearings"


def participant(request: web.Request) -> ParticipantPrincipal:
    """The person behind the current invitation session; anyone else finds nothing here."""
    who = ctx(request).principal
    if not isinstance(who, ParticipantPrincipal):
        raise NotFound()
    return who


@api.operation(
    "POST",
    "/api/cases/{case_id}/hearings",
    summary="Schedule a hearing (video session) of a case",
    tag=TAG,
    body=ScheduleRequest,
    response=ScheduleResult,
    status=201,
    errors=(409,),
)
async def hearing_schedule(request: web.Request, body: ScheduleRequest) -> ScheduleResult:
    """Schedule a hearing; the response holds each participant's link, shown only this once."""
    context = ctx(request)
    settings = request.app[SETTINGS]
    hearing, links = await scheduling.schedule(
        context.db,
        staff(request),
        match_int(request, "case_id"),
        body,
        timezone=settings.timezone,
    )
    return ScheduleResult(
        hearing=await hearing_detail(context.db, hearing),
        links=issued_links_out(settings.base_url, hearing, links),
    )


@api.operation(
    "GET",
    "/api/cases/{case_id}/hearings",
    summary="A case's hearings",
    tag=TAG,
    response=list[HearingSummary],
)
async def hearing_list(request: web.Request) -> list[HearingSummary]:
    """The hearings of a case in scope, newest first."""
    context = ctx(request)
    hearings = await scheduling.hearings_of_case(
        context.db, staff(request), match_int(request, "case_id")
    )
    return [hearing_summary(h) for h in hearings]


@api.operation(
    "GET",
    "/api/hearings/{hearing_id}",
    summary="One hearing, its participants, links, identity checks and consents",
    tag=TAG,
    response=HearingDetail,
    auth="participant",
)
async def hearing_get(request: web.Request) -> HearingDetail:
    """For staff who may see the case, and for whoever presides in the hearing (also through
    their invitation link)."""
    context = ctx(request)
    hearing_id = match_int(request, "hearing_id")
    seat = await acting_seat(context.db, context.principal, hearing_id)
    if seat is not None and seat.role in PRESIDING_ROLES:
        hearing = await own_hearing(request, hearing_id)
    elif isinstance(context.principal, StaffPrincipal):
        hearing = await scheduling.hearing_in_scope(context.db, context.principal, hearing_id)
    else:
        raise NotFound()
    return await hearing_detail(context.db, hearing)


async def own_hearing(request: web.Request, hearing_id: int) -> Hearing:
    """The hearing itself (the caller has checked the requester's seat in it)."""
    hearing = await ctx(request).db.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound()
    return hearing


@api.operation(
    "POST",
    "/api/hearings/{hearing_id}/participants/{participant_id}/invitation",
    summary="Issue a participant a new link (the old one stops working)",
    tag=TAG,
    body=ReissueRequest,
    response=IssuedLinkOut,
    status=201,
)
async def invitation_reissue(request: web.Request, body: ReissueRequest) -> IssuedLinkOut:
    """Reissue: a new token, shown only in this response; the earlier link is revoked."""
    context = ctx(request)
    settings = request.app[SETTINGS]
    hearing = await scheduling.manageable_hearing(
        context.db, staff(request), match_int(request, "hearing_id")
    )
    seat = await scheduling.seat_of(context.db, hearing, match_int(request, "participant_id"))
    expires_at = body.expires_at or scheduling.default_expiry(hearing.starts_at, settings.timezone)
    scheduling.check_expiry(expires_at, hearing.starts_at, "expires_at")
    link = await invitations.issue(
        context.db, seat, expires_at=expires_at, by_staff_id=staff(request).staff_id
    )
    await context.db.commit()
    await request.app[REVOCATIONS].publish(link.replaced)
    return issued_links_out(settings.base_url, hearing, [link])[0]


@api.operation(
    "DELETE",
    "/api/hearings/{hearing_id}/participants/{participant_id}/invitation",
    summary="Revoke a participant's link (and end the sessions it opened)",
    tag=TAG,
    status=204,
)
async def invitation_revoke(request: web.Request) -> None:
    """The link stops working; the live layer is told at once."""
    context = ctx(request)
    hearing = await scheduling.manageable_hearing(
        context.db, staff(request), match_int(request, "hearing_id")
    )
    seat = await scheduling.seat_of(context.db, hearing, match_int(request, "participant_id"))
    revoked = await invitations.revoke(context.db, seat, by_staff_id=staff(request).staff_id)
    await context.db.commit()
    await request.app[REVOCATIONS].publish(revoked)


@api.operation(
    "POST",
    "/api/hearings/{hearing_id}/participants/{participant_id}/identity-checks",
    summary="Record an identity check made on camera",
    tag=TAG,
    body=IdentityCheckRequest,
    response=ParticipantOut,
    status=201,
    auth="participant",
    errors=(409,),
)
async def identity_check(request: web.Request, body: IdentityCheckRequest) -> ParticipantOut:
    """By the hearing's mediator or judge, logged in or through their link."""
    context = ctx(request)
    hearing_id = match_int(request, "hearing_id")
    row = await identity.check(
        context.db, context.principal, hearing_id, match_int(request, "participant_id"), body
    )
    hearing = await own_hearing(request, hearing_id)
    seat = await scheduling.seat_of(context.db, hearing, row.participant_id)
    return (await participants_out(context.db, [seat]))[0]


@api.operation(
    "GET",
    "/api/join",
    summary="The requester's seat in their hearing",
    tag=TAG,
    response=JoinInfo,
    auth="participant",
)
async def join_get(request: web.Request) -> JoinInfo:
    """Who the invitation session stands for, and which steps are done."""
    context = ctx(request)
    seat, hearing = await own_seat(context.db, participant(request))
    return await join_info(context.db, seat, hearing)


@api.operation(
    "GET",
    "/api/join/notice",
    summary="The current recording notice, in the requester's language",
    tag=TAG,
    response=NoticeOut,
    auth="participant",
)
async def join_notice(request: web.Request) -> NoticeOut:
    """The versioned text a participant is asked to consent to."""
    participant(request)
    notice = consent.recording_notice(request.app[SETTINGS].web_dir, ctx(request).translate.locale)
    return NoticeOut(
        version=notice.version, locale=notice.locale, text=notice.text, sha256=notice.sha256
    )


@api.operation(
    "POST",
    "/api/join/identity",
    summary="Declare name and ID number (parties)",
    tag=TAG,
    body=IdentityDeclarationRequest,
    response=IdentityOut,
    status=201,
    auth="participant",
)
async def join_identity(request: web.Request, body: IdentityDeclarationRequest) -> IdentityOut:
    """Stored for the mediator's check; answered with the ID number masked."""
    context = ctx(request)
    who = participant(request)
    await identity.declare(context.db, who, body)
    seat, _ = await own_seat(context.db, who)
    return (await participants_out(context.db, [seat]))[0].identity


@api.operation(
    "POST",
    "/api/join/consent",
    summary="Consent to recording, or decline it",
    tag=TAG,
    body=ConsentRequest,
    response=ConsentOut,
    status=201,
    auth="participant",
    errors=(409,),
)
async def join_consent(request: web.Request, body: ConsentRequest) -> ConsentOut:
    """Given or declined, with the notice version; declining marks the participant not to be
    recorded, and the mediator sees it."""
    context = ctx(request)
    notice = consent.recording_notice(request.app[SETTINGS].web_dir, context.translate.locale)
    row = await consent.answer(context.db, participant(request), notice, body)
    out = consent_out(row)
    assert out is not None
    return out
