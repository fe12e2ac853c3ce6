"""``/api/recordings/...``: what the review page's player loads (tracks, segments around the
playhead, timeline, transcript, bookmarks), bookmarks, and releasing a caucus room's
recording to the court. Media bytes come from ``server.views.recording_pages``."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording import review
from recording.access import CAUCUS_ROLES, MAIN_ROOM, released_sub_rooms, session_in_scope
from server.api.routes import api
from server.audit.log import audit
from server.audit.vocabulary import AuditAction, AuditObject
from server.auth.principal import StaffPrincipal
from server.context import ctx, match_int, staff
from server.db.recording import CaucusRelease, RecordingBookmark, RecordingTrack
from server.errors import Conflict, Forbidden, NotFound
from server.validation import Body

TAG = "recordings"
# The longest window of segments one call returns (the page asks for about a minute).
MAX_WINDOW_MS = 10 * 60 * 1000


class TrackOut(BaseModel):
    """A track the reviewer may play."""

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


class EventOut(BaseModel):
    """A timeline entry on the session clock."""

    id: int
    kind: str
    offset_ms: int
    at: str
    participant_name: str | None
    sub_room: str | None
    detail: dict[str, Any]


class LineOut(BaseModel):
    """A transcript line; ``status`` ``machine_draft`` until a person accepts it."""

    id: int
    start_ms: int
    end_ms: int
    speaker: str
    text: str
    status: str


class BookmarkOut(BaseModel):
    """A reviewer's bookmark."""

    id: int
    offset_ms: int
    note: str
    staff_name: str
    own: bool


class ReviewOut(BaseModel):
    """Everything the player needs except the segment lists (fetched by time window)."""

    session_id: int
    case_id: int
    status: str
    started_at: str
    duration_ms: int
    rooms: list[str]
    sealed_rooms: list[str]
    releasable_rooms: list[str]
    tracks: list[TrackOut]
    events: list[EventOut]
    transcript: list[LineOut]
    bookmarks: list[BookmarkOut]


class SegmentWindowQuery(Body):
    """A window of the session clock, in milliseconds."""

    from_ms: int = Field(ge=0, le=2**40)
    to_ms: int = Field(ge=0, le=2**40)


class SegmentWindowOut(BaseModel):
    """Per track id, ``[segment id, start_ms, end_ms]`` triples in order."""

    from_ms: int
    to_ms: int
    tracks: dict[str, list[tuple[int, int, int]]]


class BookmarkRequest(Body):
    """A bookmark at a time on the session clock, with a note."""

    offset_ms: int = Field(ge=0, le=2**40)
    note: str = Field(default="", max_length=500)


class ReleaseRequest(Body):
    """Release a sealed caucus room to the court: ``confirm`` must be true (the page asks)."""

    sub_room: str = Field(pattern=r"^caucus-[0-9]{1,4}$")
    reason: str = Field(min_length=2, max_length=1_000)
    confirm: Literal[True]


class ReleaseOut(BaseModel):
    """A recorded release."""

    id: int
    sub_room: str
    reason: str
    at: str


async def releasable_rooms(
    db: AsyncSession, who: StaffPrincipal, loaded: review.Review
) -> list[str]:
    """Caucus rooms ``who`` may release (mediator side and centre) that are not yet released."""
    if who.role not in CAUCUS_ROLES:
        return []
    done = await released_sub_rooms(db, loaded.session.id)
    return [room for room in loaded.rooms if room != MAIN_ROOM and room not in done]


@api.operation(
    "GET",
    "/api/recordings/{session_id}",
    summary="A recording session for the review page: tracks, timeline, transcript, bookmarks",
    tag=TAG,
    response=ReviewOut,
    errors=(404,),
)
async def recording_review(request: web.Request) -> ReviewOut:
    """The session as the caller may see it; caucus rooms they may not open are left out."""
    db = ctx(request).db
    who = staff(request)
    loaded = await review.load_review(db, who, match_int(request, "session_id"))
    return await review_out(db, who, loaded)


async def review_out(db: AsyncSession, who: StaffPrincipal, loaded: review.Review) -> ReviewOut:
    """What ``GET /api/recordings/{id}`` answers (the page embeds the same)."""
    return ReviewOut(
        session_id=loaded.session.id,
        case_id=loaded.case.id,
        status=str(loaded.session.status),
        started_at=loaded.session.started_at.isoformat(),
        duration_ms=loaded.duration_ms,
        rooms=loaded.rooms,
        sealed_rooms=loaded.sealed_rooms,
        releasable_rooms=await releasable_rooms(db, who, loaded),
        tracks=[TrackOut(**vars(t)) for t in loaded.tracks],
        events=[EventOut(**vars(e)) for e in await review.events_of(db, loaded)],
        transcript=[LineOut(**vars(line)) for line in await review.transcript_of(db, loaded)],
        bookmarks=[
            BookmarkOut(**vars(b)) for b in await review.bookmarks_of(db, who, loaded.session.id)
        ],
    )


@api.operation(
    "GET",
    "/api/recordings/{session_id}/segments",
    summary="The segments of every playable track that overlap a window of the session clock",
    tag=TAG,
    query=SegmentWindowQuery,
    response=SegmentWindowOut,
    errors=(404, 422),
)
async def recording_segments(request: web.Request, query: SegmentWindowQuery) -> SegmentWindowOut:
    """Segment ids and times around the playhead (at most ten minutes per call)."""
    db = ctx(request).db
    loaded = await review.load_review(db, staff(request), match_int(request, "session_id"))
    return await segment_window(db, loaded, query.from_ms, query.to_ms)


async def segment_window(
    db: AsyncSession, loaded: review.Review, from_ms: int, to_ms: int
) -> SegmentWindowOut:
    """The segments of ``loaded``'s tracks overlapping the window (at most ten minutes)."""
    to_ms = min(max(to_ms, from_ms), from_ms + MAX_WINDOW_MS)
    found = await review.segments_between(db, loaded, from_ms, to_ms)
    return SegmentWindowOut(
        from_ms=from_ms,
        to_ms=to_ms,
        tracks={str(track_id): rows for track_id, rows in found.items()},
    )


@api.operation(
    "POST",
    "/api/recordings/{session_id}/bookmarks",
    summary="Add a bookmark with a note at a time of the recording",
    tag=TAG,
    body=BookmarkRequest,
    response=BookmarkOut,
    status=201,
    errors=(404, 422),
)
async def bookmark_add(request: web.Request, body: BookmarkRequest) -> BookmarkOut:
    """A bookmark of the caller's own."""
    db = ctx(request).db
    who = staff(request)
    session = await session_in_scope(db, who, match_int(request, "session_id"))
    mark = RecordingBookmark(
        session_id=session.id, staff_id=who.staff_id, offset_ms=body.offset_ms, note=body.note
    )
    db.add(mark)
    await db.flush()
    return BookmarkOut(
        id=mark.id, offset_ms=mark.offset_ms, note=mark.note, staff_name=who.display_name, own=True
    )


@api.operation(
    "DELETE",
    "/api/recordings/{session_id}/bookmarks/{bookmark_id}",
    summary="Delete one of the caller's own bookmarks",
    tag=TAG,
    status=204,
    errors=(404,),
)
async def bookmark_delete(request: web.Request) -> None:
    """Someone else's bookmark is answered like a missing one."""
    db = ctx(request).db
    who = staff(request)
    session = await session_in_scope(db, who, match_int(request, "session_id"))
    mark = await db.get(RecordingBookmark, match_int(request, "bookmark_id"))
    if mark is None or mark.session_id != session.id or mark.staff_id != who.staff_id:
        raise NotFound()
    await db.delete(mark)


@api.operation(
    "POST",
    "/api/recordings/{session_id}/releases",
    summary="Release a sealed caucus room's recording to the court (explicit, audited)",
    tag=TAG,
    body=ReleaseRequest,
    response=ReleaseOut,
    status=201,
    errors=(403, 404, 409, 422),
)
async def caucus_release(request: web.Request, body: ReleaseRequest) -> ReleaseOut:
    """Only the mediator side and the centre release; each room once."""
    db = ctx(request).db
    who = staff(request)
    session = await session_in_scope(db, who, match_int(request, "session_id"))
    if who.role not in CAUCUS_ROLES:
        raise Forbidden()
    exists = await db.scalar(
        select(RecordingTrack.id)
        .where(RecordingTrack.session_id == session.id, RecordingTrack.sub_room == body.sub_room)
        .limit(1)
    )
    if exists is None:
        raise NotFound()
    # The audit entry first: it locks the audit head, which serialises two releases of the
    # same room; the loser's Conflict rolls its entry back with it.
    await audit(
        db,
        who,
        AuditAction.RELEASE,
        case_id=session.case_id,
        object_type=AuditObject.SESSION,
        object_id=session.id,
        detail={"sub_room": body.sub_room, "reason": body.reason},
    )
    if body.sub_room in await released_sub_rooms(db, session.id):
        raise Conflict("error.recording_already_released")
    release = CaucusRelease(
        session_id=session.id,
        sub_room=body.sub_room,
        released_by_id=who.staff_id,
        reason=body.reason,
    )
    db.add(release)
    await db.flush()
    return ReleaseOut(
        id=release.id, sub_room=release.sub_room, reason=release.reason, at=release.at.isoformat()
    )
