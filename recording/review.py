"""What the review page shows of one recording session: its tracks grouped by room, their
segments around a time, the timeline, the transcript and the bookmarks.

Every query starts from :func:`recording.access.session_in_scope` and keeps to the rooms the
reviewer may open (:func:`recording.access.open_sub_rooms`): a sealed caucus room's tracks,
segments, events and transcript lines are left out exactly as if they did not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.access import MAIN_ROOM, open_sub_rooms, session_in_scope
from recording.storage import RecordingStore
from recording.stores import open_store
from recording.vocabulary import SegmentStatus, TrackKind
from server.access import case_in_scope
from server.auth.principal import StaffPrincipal
from server.db import Case, HearingParticipant, Staff
from server.db.recording import (
    RecordingBookmark,
    RecordingEvent,
    RecordingSegment,
    RecordingSession,
    RecordingTrack,
)
from server.db.transcript import Transcript, TranscriptLine
from server.errors import NotFound
from server.settings import Settings

# Segment states that have a file to play (an open one is still growing but plays so far).
PLAYABLE = (SegmentStatus.CLOSED, SegmentStatus.RECOVERED, SegmentStatus.OPEN)


def review_store(settings: Settings) -> RecordingStore:
    """Where recording files are read from: the configured store (the data directory, or
    the spool in front of an S3 bucket)."""
    return open_store(settings)


def content_type(track: RecordingTrack) -> str:
    """The MIME type of a track's segment files."""
    major = "audio" if track.kind == TrackKind.AUDIO else "video"
    if track.container == "mp4":
        return f"{major}/mp4"
    return f"{major}/webm"


def mime_codec(track: RecordingTrack) -> str:
    """The full type a MediaSource needs (``video/webm; codecs="vp8"``)."""
    codec = {"h264": "avc1.42E01F"}.get(track.codec, track.codec)
    return f'{content_type(track)}; codecs="{codec}"'


@dataclass(frozen=True)
class TrackView:
    """A track as the player needs it."""

    id: int
    participant_id: int
    participant_name: str
    participant_role: str
    sub_room: str
    kind: str
    label: str
    codec: str
    mime: str
    start_ms: int
    end_ms: int | None


@dataclass(frozen=True)
class EventView:
    """One timeline entry."""

    id: int
    kind: str
    offset_ms: int
    at: str
    participant_name: str | None
    sub_room: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class LineView:
    """One transcript line."""

    id: int
    start_ms: int
    end_ms: int
    speaker: str
    text: str
    status: str


@dataclass(frozen=True)
class BookmarkView:
    """A reviewer's bookmark."""

    id: int
    offset_ms: int
    note: str
    staff_name: str
    own: bool


@dataclass
class Review:
    """A session as one reviewer may see it."""

    session: RecordingSession
    case: Case
    duration_ms: int
    rooms: list[str]  # main first, then caucus rooms open to the reviewer
    sealed_rooms: list[str]  # caucus rooms that exist but stay sealed for the reviewer
    tracks: list[TrackView] = field(default_factory=list)


def _names(participants: list[HearingParticipant]) -> dict[int, HearingParticipant]:
    return {p.id: p for p in participants}


async def _all_rooms(db: AsyncSession, session_id: int) -> set[str]:
    rows = await db.scalars(
        select(RecordingTrack.sub_room).where(RecordingTrack.session_id == session_id).distinct()
    )
    return set(rows) | {MAIN_ROOM}


async def _participants(db: AsyncSession, hearing_id: int) -> dict[int, HearingParticipant]:
    rows = await db.scalars(
        select(HearingParticipant).where(HearingParticipant.hearing_id == hearing_id)
    )
    return _names(list(rows))


def _room_order(room: str) -> tuple[int, str]:
    return (0 if room == MAIN_ROOM else 1, room)


async def load_review(db: AsyncSession, who: StaffPrincipal, session_id: int) -> Review:
    """The session with the tracks ``who`` may play; :class:`NotFound` when out of scope."""
    session = await session_in_scope(db, who, session_id)
    case = await db.get(Case, session.case_id)
    if case is None:
        raise NotFound()
    every = await _all_rooms(db, session.id)
    allowed = await open_sub_rooms(db, who, session, every)
    people = await _participants(db, session.hearing_id)
    tracks = (
        await db.scalars(
            select(RecordingTrack)
            .where(
                RecordingTrack.session_id == session.id,
                RecordingTrack.sub_room.in_(allowed),
            )
            .order_by(RecordingTrack.sub_room, RecordingTrack.participant_id, RecordingTrack.id)
        )
    ).all()
    last_end = await db.scalar(
        select(RecordingSegment.end_ms)
        .where(RecordingSegment.session_id == session.id)
        .order_by(RecordingSegment.end_ms.desc().nulls_last())
        .limit(1)
    )
    ended_ms = 0
    if session.ended_at is not None:
        ended_ms = int((session.ended_at - session.started_at).total_seconds() * 1000)
    duration = max(last_end or 0, max((t.end_ms or 0 for t in tracks), default=0))
    review = Review(
        session=session,
        case=case,
        # The media decides the length; the stop time only when nothing was recorded.
        duration_ms=duration or ended_ms,
        rooms=sorted(allowed, key=_room_order),
        sealed_rooms=sorted(every - allowed, key=_room_order),
    )
    for track in tracks:
        person = people.get(track.participant_id)
        review.tracks.append(
            TrackView(
                id=track.id,
                participant_id=track.participant_id,
                participant_name=person.name if person else "",
                participant_role=str(person.role) if person else "",
                sub_room=track.sub_room,
                kind=str(track.kind),
                label=str(track.label),
                codec=track.codec,
                mime=mime_codec(track),
                start_ms=track.start_ms,
                end_ms=track.end_ms,
            )
        )
    return review


async def segments_between(
    db: AsyncSession, review: Review, from_ms: int, to_ms: int
) -> dict[int, list[tuple[int, int, int]]]:
    """Per visible track, ``(segment id, start_ms, end_ms)`` of the playable segments that
    overlap ``[from_ms, to_ms]``, in order. The page asks for a window around the playhead,
    never the whole hour."""
    track_ids = [t.id for t in review.tracks]
    if not track_ids:
        return {}
    rows = await db.execute(
        select(
            RecordingSegment.track_id,
            RecordingSegment.id,
            RecordingSegment.start_ms,
            RecordingSegment.end_ms,
        )
        .where(
            RecordingSegment.session_id == review.session.id,
            RecordingSegment.track_id.in_(track_ids),
            RecordingSegment.status.in_(PLAYABLE),
            RecordingSegment.start_ms <= to_ms,
            or_(RecordingSegment.end_ms.is_(None), RecordingSegment.end_ms >= from_ms),
        )
        .order_by(RecordingSegment.track_id, RecordingSegment.index)
    )
    out: dict[int, list[tuple[int, int, int]]] = {t: [] for t in track_ids}
    for track_id, segment_id, start_ms, end_ms in rows:
        out[track_id].append((segment_id, start_ms, end_ms if end_ms is not None else start_ms))
    return out


async def events_of(db: AsyncSession, review: Review) -> list[EventView]:
    """The timeline, without entries about rooms the reviewer may not open."""
    people = await _participants(db, review.session.hearing_id)
    rows = await db.scalars(
        select(RecordingEvent)
        .where(
            RecordingEvent.session_id == review.session.id,
            or_(
                RecordingEvent.sub_room.is_(None),
                RecordingEvent.sub_room.in_(review.rooms),
            ),
        )
        .order_by(RecordingEvent.offset_ms, RecordingEvent.id)
    )
    out = []
    for event in rows:
        try:
            detail = json.loads(event.detail or "{}")
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        # A move into a sealed room says where to; keep the fact of leaving, not the room.
        if detail.get("to") in review.sealed_rooms:
            detail = {**detail, "to": "sealed"}
        person = people.get(event.participant_id) if event.participant_id else None
        out.append(
            EventView(
                id=event.id,
                kind=str(event.kind),
                offset_ms=event.offset_ms,
                at=event.at.isoformat(),
                participant_name=person.name if person else None,
                sub_room=event.sub_room,
                detail=detail,
            )
        )
    return out


async def transcript_of(db: AsyncSession, review: Review) -> list[LineView]:
    """Transcript lines of the visible tracks, in time order."""
    track_ids = [t.id for t in review.tracks]
    if not track_ids:
        return []
    people = await _participants(db, review.session.hearing_id)
    rows = await db.scalars(
        select(TranscriptLine)
        .join(Transcript, Transcript.id == TranscriptLine.transcript_id)
        .where(
            and_(
                TranscriptLine.session_id == review.session.id,
                Transcript.track_id.in_(track_ids),
            )
        )
        .order_by(TranscriptLine.start_ms, TranscriptLine.id)
    )
    return [
        LineView(
            id=line.id,
            start_ms=line.start_ms,
            end_ms=line.end_ms,
            speaker=people[line.participant_id].name if line.participant_id in people else "",
            text=line.text,
            status=str(line.status),
        )
        for line in rows
    ]


async def bookmarks_of(
    db: AsyncSession, who: StaffPrincipal, session_id: int
) -> list[BookmarkView]:
    """Every reviewer's bookmarks on the session (each may delete only their own)."""
    rows = await db.execute(
        select(RecordingBookmark, Staff.display_name)
        .join(Staff, Staff.id == RecordingBookmark.staff_id)
        .where(RecordingBookmark.session_id == session_id)
        .order_by(RecordingBookmark.offset_ms, RecordingBookmark.id)
    )
    return [
        BookmarkView(
            id=mark.id,
            offset_ms=mark.offset_ms,
            note=mark.note,
            staff_name=name,
            own=mark.staff_id == who.staff_id,
        )
        for mark, name in rows
    ]


async def segment_for_playback(
    db: AsyncSession, who: StaffPrincipal, session_id: int, segment_id: int
) -> tuple[RecordingSession, RecordingSegment, RecordingTrack]:
    """A segment of the session that ``who`` may play, or :class:`NotFound` (out of scope,
    another session's segment, a sealed room and a missing file all look the same)."""
    # One query for the segment, its track and session (the player asks many times).
    row = (
        await db.execute(
            select(RecordingSegment, RecordingTrack, RecordingSession)
            .join(RecordingTrack, RecordingTrack.id == RecordingSegment.track_id)
            .join(RecordingSession, RecordingSession.id == RecordingSegment.session_id)
            .where(RecordingSegment.id == segment_id, RecordingSegment.session_id == session_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound()
    segment, track, session = row
    await case_in_scope(db, who, session.case_id)
    if segment.status not in PLAYABLE:
        raise NotFound()
    allowed = await open_sub_rooms(db, who, session, {track.sub_room})
    if track.sub_room not in allowed:
        raise NotFound()
    return session, segment, track
