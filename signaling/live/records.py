"""What the live layer reads from and writes to the database: the hearing and its seats, the
identity and consent flags the moderator sees, and the chat kept on the case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import (
    Case,
    Hearing,
    HearingChatMessage,
    HearingParticipant,
    IdentityCheck,
    IdentityDeclaration,
    RecordingConsent,
)
from server.db.base import utcnow
from server.hearings.vocabulary import IdentityOutcome

from .state import Consent, LiveHearing, Seat, is_moderator

CHAT_HISTORY = 100


@dataclass(frozen=True)
class SeatFlags:
    """Identity and consent of one seat, as the moderator's state shows them."""

    identity_declared: bool
    identity_checked: bool
    consent: Consent | None
    do_not_record: bool


async def load_hearing(db: AsyncSession, hearing_id: int) -> LiveHearing | None:
    """A fresh live state for a hearing, with its seats (everyone starts out disconnected)."""
    hearing = await db.get(Hearing, hearing_id)
    if hearing is None:
        return None
    case = await db.get(Case, hearing.case_id)
    live = LiveHearing(
        id=hearing.id,
        case_id=hearing.case_id,
        title=case.title if case is not None else "",
        kind=hearing.kind,
    )
    await refresh_seats(db, live)
    return live


async def refresh_seats(db: AsyncSession, live: LiveHearing) -> None:
    """Bring names, roles and identity/consent flags up to date, keeping live presence."""
    rows = (
        (
            await db.execute(
                select(HearingParticipant)
                .where(HearingParticipant.hearing_id == live.id)
                .order_by(HearingParticipant.id)
            )
        )
        .scalars()
        .all()
    )
    flags = await seat_flags(db, [row.id for row in rows])
    for row in rows:
        seat = live.seats.get(row.id)
        if seat is None:
            moderator = is_moderator(row.role, live.kind)
            seat = Seat(id=row.id, name=row.name, role=row.role, moderator=moderator)
            seat.location = seat.entry_location
            live.seats[row.id] = seat
        seat.name = row.name
        flag = flags[row.id]
        seat.identity_declared = flag.identity_declared
        seat.identity_checked = flag.identity_checked
        seat.consent = flag.consent
        seat.do_not_record = row.do_not_record


async def seat_flags(db: AsyncSession, seat_ids: list[int]) -> dict[int, SeatFlags]:
    """Each seat's newest declaration, check and consent, in three queries."""
    if not seat_ids:
        return {}
    declared = set(
        (
            await db.execute(
                select(IdentityDeclaration.participant_id).where(
                    IdentityDeclaration.participant_id.in_(seat_ids)
                )
            )
        ).scalars()
    )
    checks: dict[int, IdentityCheck] = {}
    for check in (
        await db.execute(
            select(IdentityCheck)
            .where(IdentityCheck.participant_id.in_(seat_ids))
            .order_by(IdentityCheck.id.desc())
        )
    ).scalars():
        checks.setdefault(check.participant_id, check)
    consents: dict[int, RecordingConsent] = {}
    for consent in (
        await db.execute(
            select(RecordingConsent)
            .where(RecordingConsent.participant_id.in_(seat_ids))
            .order_by(RecordingConsent.id.desc())
        )
    ).scalars():
        consents.setdefault(consent.participant_id, consent)
    out = {}
    for seat_id in seat_ids:
        newest_check = checks.get(seat_id)
        answer = consents.get(seat_id)
        out[seat_id] = SeatFlags(
            identity_declared=seat_id in declared,
            identity_checked=newest_check is not None
            and newest_check.outcome == IdentityOutcome.CONFIRMED,
            consent=None if answer is None else "given" if answer.given else "declined",
            do_not_record=answer is not None and not answer.given,
        )
    return out


def chat_out(message: HearingChatMessage, from_name: str) -> dict[str, Any]:
    """A ChatMessage as the protocol sends it."""
    return {
        "id": message.id,
        "from_id": message.participant_id,
        "from_name": from_name,
        "room": message.location,
        "text": message.text,
        "at": message.at.astimezone(dt.UTC).isoformat(),
    }


async def store_chat(
    db: AsyncSession, hearing_id: int, participant_id: int, location: str, text: str
) -> HearingChatMessage:
    """Keep a chat message on the case. The caller commits."""
    message = HearingChatMessage(
        hearing_id=hearing_id,
        participant_id=participant_id,
        location=location,
        text=text,
        at=utcnow(),
    )
    db.add(message)
    await db.flush()
    return message


async def chat_history(
    db: AsyncSession, live: LiveHearing, location: str, limit: int = CHAT_HISTORY
) -> list[dict[str, Any]]:
    """The newest messages of one room, oldest first."""
    rows = (
        (
            await db.execute(
                select(HearingChatMessage)
                .where(
                    HearingChatMessage.hearing_id == live.id,
                    HearingChatMessage.location == location,
                )
                .order_by(HearingChatMessage.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    names = {seat.id: seat.name for seat in live.seats.values()}
    return [chat_out(row, names.get(row.participant_id, "")) for row in reversed(rows)]
