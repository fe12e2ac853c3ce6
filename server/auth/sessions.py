"""Server-side web sessions: the cookie carries a random token, the database its hash."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import (
    ParticipantPrincipal,
    PartyPrincipal,
    Principal,
    StaffPrincipal,
)
from server.auth.tokens import new_token, token_hash
from server.db import Hearing, HearingParticipant, Party, Staff, WebSession
from server.db.base import utcnow

SESSION_COOKIE = "bilin_session"


@dataclass(frozen=True)
class LoadedSession:
    """A valid session and the principal it belongs to."""

    session_id: int
    csrf_token: str
    principal: Principal
    locale: str | None


async def open_session(
    db: AsyncSession,
    *,
    max_age_s: int,
    staff_id: int | None = None,
    party_id: int | None = None,
    participant_id: int | None = None,
    locale: str | None = None,
) -> tuple[str, str]:
    """Create a session; returns ``(cookie token, csrf token)``. The caller commits."""
    token = new_token()
    csrf = secrets.token_urlsafe(24)
    db.add(
        WebSession(
            token_hash=token_hash(token),
            csrf_token=csrf,
            staff_id=staff_id,
            party_id=party_id,
            participant_id=participant_id,
            locale=locale,
            expires_at=utcnow() + dt.timedelta(seconds=max_age_s),
        )
    )
    await db.flush()
    return token, csrf


async def load_session(db: AsyncSession, token: str) -> LoadedSession | None:
    """The live session for a cookie token, or ``None`` (expired, unknown, account disabled)."""
    row = (
        await db.execute(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    if row is None or row.expires_at <= utcnow():
        return None
    principal: Principal
    if row.staff_id is not None:
        staff = await db.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        principal = staff_principal(staff)
    elif row.party_id is not None:
        party = await db.get(Party, row.party_id)
        if party is None or party.link_token_hash is None:
            return None
        principal = PartyPrincipal(party_id=party.id, case_id=party.case_id, name=party.name)
    elif row.participant_id is not None:
        # Revoking or reissuing an invitation deletes the sessions it opened, and they expire
        # with it, so a session that still exists is as valid as its invitation.
        seat = await db.get(HearingParticipant, row.participant_id)
        hearing = await db.get(Hearing, seat.hearing_id) if seat is not None else None
        if seat is None or hearing is None:
            return None
        principal = ParticipantPrincipal(
            participant_id=seat.id,
            hearing_id=hearing.id,
            case_id=hearing.case_id,
            name=seat.name,
            hearing_role=seat.role,
        )
    else:
        return None
    return LoadedSession(row.id, row.csrf_token, principal, row.locale)


def staff_principal(staff: Staff) -> StaffPrincipal:
    """What access decisions need to know about a staff account."""
    return StaffPrincipal(
        staff_id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        org_id=staff.org.id,
        org_code=staff.org.code,
        org_name=staff.org.name,
        org_kind=staff.org.kind,
        org_path=staff.org.path,
    )


async def close_session(db: AsyncSession, token: str) -> None:
    """Delete the session behind a cookie token (logout). The caller commits."""
    await db.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


async def close_party_sessions(db: AsyncSession, party_id: int) -> None:
    """End every session opened through a party's link (when the link is replaced)."""
    await db.execute(delete(WebSession).where(WebSession.party_id == party_id))
