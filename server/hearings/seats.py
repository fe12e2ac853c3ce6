"""Who is acting in a hearing: the seat behind the request's principal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import ParticipantPrincipal, Principal, StaffPrincipal
from server.db import Hearing, HearingParticipant
from server.errors import Forbidden, NotFound
from server.hearings.vocabulary import PRESIDING_ROLES


async def own_seat(
    db: AsyncSession, who: ParticipantPrincipal
) -> tuple[HearingParticipant, Hearing]:
    """The seat (and hearing) of someone who came in through their invitation link."""
    seat = await db.get(HearingParticipant, who.participant_id)
    hearing = await db.get(Hearing, who.hearing_id)
    if seat is None or hearing is None or seat.hearing_id != hearing.id:
        raise NotFound()
    return seat, hearing


async def staff_seat(
    db: AsyncSession, who: StaffPrincipal, hearing_id: int
) -> HearingParticipant | None:
    """The seat a logged-in staff member holds in a hearing, if any."""
    return (
        await db.execute(
            select(HearingParticipant).where(
                HearingParticipant.hearing_id == hearing_id,
                HearingParticipant.staff_id == who.staff_id,
            )
        )
    ).scalar_one_or_none()


async def acting_seat(
    db: AsyncSession, who: Principal | None, hearing_id: int
) -> HearingParticipant | None:
    """The seat ``who`` holds in the hearing: through their link, or as logged-in staff."""
    if isinstance(who, ParticipantPrincipal):
        if who.hearing_id != hearing_id:
            return None
        seat, _ = await own_seat(db, who)
        return seat
    if isinstance(who, StaffPrincipal):
        return await staff_seat(db, who, hearing_id)
    return None


async def presiding_seat(
    db: AsyncSession, who: Principal | None, hearing_id: int
) -> HearingParticipant:
    """``who``'s seat if it presides (mediator, co-mediator, judge); a participant of the
    hearing in another seat is refused; anyone else is told there is no such hearing."""
    seat = await acting_seat(db, who, hearing_id)
    if seat is None:
        raise NotFound()
    if seat.role not in PRESIDING_ROLES:
        raise Forbidden()
    return seat
