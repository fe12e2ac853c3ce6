"""Who may open which recordings.

A recording session is visible to whoever may see its case (:func:`server.access.case_scope`);
anything else is reported as missing, exactly like a session that does not exist. Caucus rooms
(背对背) are sealed: only the mediator side and the centre open them, until the centre releases
one to the court, an explicit act recorded in ``recording_caucus_releases``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import CENTRE_ROLES, case_in_scope
from server.auth.principal import StaffPrincipal
from server.db.recording import CaucusRelease, RecordingSession
from server.errors import NotFound
from server.vocabulary import Role

MAIN_ROOM = "main"
# Who opens sealed caucus recordings without a release.
CAUCUS_ROLES = (Role.MEDIATOR, *CENTRE_ROLES)


async def session_in_scope(
    db: AsyncSession, who: StaffPrincipal, session_id: int
) -> RecordingSession:
    """The session if ``who`` may see its case; otherwise :class:`NotFound`."""
    session = await db.get(RecordingSession, session_id)
    if session is None:
        raise NotFound()
    await case_in_scope(db, who, session.case_id)
    return session


async def released_sub_rooms(db: AsyncSession, session_id: int) -> set[str]:
    """Caucus rooms of the session released to the court."""
    rows = await db.scalars(
        select(CaucusRelease.sub_room).where(CaucusRelease.session_id == session_id)
    )
    return set(rows)


async def may_open_sub_room(
    db: AsyncSession, who: StaffPrincipal, session: RecordingSession, sub_room: str
) -> bool:
    """Whether ``who`` (already in the session's scope) may open ``sub_room``'s recording."""
    if sub_room == MAIN_ROOM or who.role in CAUCUS_ROLES:
        return True
    return sub_room in await released_sub_rooms(db, session.id)


async def open_sub_rooms(
    db: AsyncSession, who: StaffPrincipal, session: RecordingSession, sub_rooms: set[str]
) -> set[str]:
    """The subset of ``sub_rooms`` that ``who`` may open."""
    if who.role in CAUCUS_ROLES:
        return set(sub_rooms)
    return {MAIN_ROOM} & sub_rooms | (await released_sub_rooms(db, session.id) & sub_rooms)
