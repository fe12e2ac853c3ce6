"""Transcript lines as a reviewer may see them: the session in the caller's scope, and only
the rooms they may open (a sealed caucus room's lines are left out, and asking for one of its
lines is answered as if it did not exist)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.access import may_open_sub_room, open_sub_rooms, session_in_scope
from recording.vocabulary import TranscriptStatus
from server.auth.principal import StaffPrincipal
from server.db import HearingParticipant
from server.db.recording import RecordingSession, RecordingTrack
from server.db.transcript import Transcript, TranscriptLine
from server.errors import NotFound
from server.hearings.vocabulary import ParticipantRole


@dataclass(frozen=True)
class LineView:
    """One line with its speaker (the track's participant) and room."""

    id: int
    start_ms: int
    end_ms: int
    participant_id: int
    speaker: str
    role: str
    sub_room: str
    engine: str
    text: str
    status: TranscriptStatus
    accepted_at: dt.datetime | None


def _line_query() -> Select[TranscriptLine, str, ParticipantRole, str, str]:
    return (
        select(
            TranscriptLine,
            HearingParticipant.name,
            HearingParticipant.role,
            RecordingTrack.sub_room,
            Transcript.engine,
        )
        .join(Transcript, Transcript.id == TranscriptLine.transcript_id)
        .join(RecordingTrack, RecordingTrack.id == Transcript.track_id)
        .join(HearingParticipant, HearingParticipant.id == TranscriptLine.participant_id)
    )


def _view(
    line: TranscriptLine, name: str, role: ParticipantRole, sub_room: str, engine: str
) -> LineView:
    return LineView(
        id=line.id,
        start_ms=line.start_ms,
        end_ms=line.end_ms,
        participant_id=line.participant_id,
        speaker=name,
        role=str(role),
        sub_room=sub_room,
        engine=engine,
        text=line.text,
        status=line.status,
        accepted_at=line.accepted_at,
    )


async def visible_lines(
    db: AsyncSession, who: StaffPrincipal, session_id: int
) -> tuple[RecordingSession, list[LineView]]:
    """The session (:class:`NotFound` outside ``who``'s scope) and the lines of the rooms
    ``who`` may open, in session-clock order."""
    session = await session_in_scope(db, who, session_id)
    rooms = set(
        await db.scalars(
            select(RecordingTrack.sub_room)
            .where(RecordingTrack.session_id == session.id)
            .distinct()
        )
    )
    allowed = await open_sub_rooms(db, who, session, rooms)
    rows = await db.execute(
        _line_query()
        .where(TranscriptLine.session_id == session.id, RecordingTrack.sub_room.in_(allowed))
        .order_by(TranscriptLine.start_ms, TranscriptLine.id)
    )
    return session, [_view(*row) for row in rows]


async def line_in_scope(
    db: AsyncSession, who: StaffPrincipal, line_id: int
) -> tuple[TranscriptLine, LineView]:
    """The line (for changing) and its view, if ``who`` may see it; else :class:`NotFound`."""
    row = (await db.execute(_line_query().where(TranscriptLine.id == line_id))).first()
    if row is None:
        raise NotFound()
    line, name, role, sub_room, engine = row
    session = await session_in_scope(db, who, line.session_id)
    if not await may_open_sub_room(db, who, session, sub_room):
        raise NotFound()
    return line, _view(line, name, role, sub_room, engine)


def refreshed(view: LineView, line: TranscriptLine) -> LineView:
    """``view`` with ``line``'s current text and standing."""
    return LineView(
        **{
            **view.__dict__,
            "text": line.text,
            "status": line.status,
            "accepted_at": line.accepted_at,
        }
    )
