"""Recording pages and media: a case's recordings, the review page, the segment files
(by database id only, with HTTP Range), and the audit log's page.

Segment bytes are never served from a static route: ``/recordings/{session}/segments/{segment}``
checks the session's scope and the segment's room on every request, and the file is found
from the segment's row. Out of scope, another session's segment, a sealed room and a missing
file are all the same 404.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import func, select

from recording import review
from recording.access import CAUCUS_ROLES
from recording.storage import MissingObject
from server.access import CENTRE_ROLES, case_in_scope, case_scope
from server.api.recordings import review_out, segment_window
from server.appkeys import SETTINGS
from server.audit.log import ChainCheck, audit, audit_once, verify_audit_chain
from server.audit.vocabulary import AuditAction, AuditObject
from server.auth.principal import StaffPrincipal
from server.context import ctx, match_int
from server.db import Case
from server.db.audit import AuditEntry
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from server.errors import NotFound
from server.views.render import render

logger = logging.getLogger(__name__)

# ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``: one range (several are answered in full).
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_VIEW_KEY = re.compile(r"^[0-9a-f]{32}$")
AUDIT_PAGE_SIZE = 100
FIRST_WINDOW_MS = 120_000


def _staff_or_login(request: web.Request) -> StaffPrincipal:
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
    return who


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class SessionRow:
    """One recording of a case, for the list."""

    session: RecordingSession
    duration_ms: int
    tracks: int


async def case_recordings(request: web.Request) -> web.StreamResponse:
    """``/cases/{id}/recordings``: the case's recording sessions, newest first."""
    db = ctx(request).db
    who = _staff_or_login(request)
    case = await case_in_scope(db, who, match_int(request, "case_id"))
    rows = await db.execute(
        select(
            RecordingSession,
            func.max(RecordingSegment.end_ms),
            func.count(func.distinct(RecordingTrack.id)),
        )
        .outerjoin(RecordingTrack, RecordingTrack.session_id == RecordingSession.id)
        .outerjoin(RecordingSegment, RecordingSegment.track_id == RecordingTrack.id)
        .where(RecordingSession.case_id == case.id)
        .group_by(RecordingSession.id)
        .order_by(RecordingSession.started_at.desc(), RecordingSession.id.desc())
    )
    sessions = [SessionRow(s, end or 0, count) for s, end, count in rows]
    return render(request, "recording/sessions.html", {"case": case, "sessions": sessions})


async def review_page(request: web.Request) -> web.StreamResponse:
    """``/recordings/{id}``: every track in sync on one timeline (the player is
    ``web/static/js/review/``; it loads ``/api/recordings/{id}``)."""
    db = ctx(request).db
    who = _staff_or_login(request)
    loaded = await review.load_review(db, who, match_int(request, "session_id"))
    # The player's first data comes with the page (two round trips fewer before the first
    # frame): the same JSON as the API's, and the segments of the first two minutes.
    data = await review_out(db, who, loaded)
    window = await segment_window(db, loaded, 0, FIRST_WINDOW_MS)
    return render(
        request,
        "recording/review.html",
        {
            "review": loaded,
            "review_data": data.model_dump(mode="json"),
            "first_window": window.model_dump(mode="json"),
            # One page view: the media endpoint audits the first fetch made with it.
            "view_key": secrets.token_hex(16),
            "can_release": who.role in CAUCUS_ROLES,
        },
    )


# ---------------------------------------------------------------- media


def parse_range(header: str | None, size: int) -> tuple[int, int] | Literal[False] | None:
    """``(start, end)`` inclusive for a satisfiable single range, ``None`` for none (or one
    we answer in full: several ranges, a malformed header), ``False`` for unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)


def _view_key(request: web.Request) -> str:
    """The page view the fetch belongs to; without one (a direct fetch), the login session."""
    sent = request.query.get("v", "")
    if _VIEW_KEY.match(sent):
        return sent
    token = ctx(request).session_token or ""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


async def segment_media(request: web.Request) -> web.StreamResponse:
    """``/recordings/{session}/segments/{segment}``: a segment file's bytes (Range supported).

    Audited: the first fetch of a page view writes one ``playback`` entry (the player then
    fetches many segments and ranges of that view without further entries); ``?download=1``
    saves the file and writes a ``download`` entry every time.
    """
    context = ctx(request)
    db = context.db
    who = context.principal
    if not isinstance(who, StaffPrincipal):
        raise NotFound()
    session_id = match_int(request, "session_id")
    segment_id = match_int(request, "segment_id")
    session, segment, track = await review.segment_for_playback(db, who, session_id, segment_id)
    store = review.review_store(request.app[SETTINGS])
    try:
        size = await store.size(segment.storage_key)
    except (MissingObject, ValueError):
        raise NotFound() from None
    download = request.query.get("download") == "1"
    if download:
        await audit(
            db,
            who,
            AuditAction.DOWNLOAD,
            case_id=session.case_id,
            object_type=AuditObject.SEGMENT,
            object_id=segment.id,
            session_id=session.id,
            detail={"track_id": track.id, "index": segment.index, "sha256": segment.sha256},
        )
    else:
        await audit_once(
            db,
            who,
            AuditAction.PLAYBACK,
            case_id=session.case_id,
            object_type=AuditObject.SESSION,
            object_id=session.id,
            session_id=session.id,
            view_key=_view_key(request),
            detail={"first_segment_id": segment.id},
        )
    # The entry is saved before any byte leaves, and the audit head is not held while the
    # bytes stream.
    await db.commit()

    wanted = parse_range(request.headers.get("Range"), size)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": review.content_type(track),
        # The reviewer's own browser may keep a closed segment (it never changes); no shared
        # cache may.
        "Cache-Control": "private, max-age=3600" if segment.sha256 else "private, no-cache",
    }
    if segment.sha256:
        headers["ETag"] = f'"{segment.sha256}"'
    if download:
        headers["Content-Disposition"] = (
            f'attachment; filename="session-{session.id}-segment-{segment.id}.{track.container}"'
        )
    if wanted is False:
        headers["Content-Range"] = f"bytes */{size}"
        return web.Response(status=416, headers=headers)
    if wanted is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end = wanted
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    response = web.StreamResponse(status=status, headers=headers)
    try:
        await response.prepare(request)
        if request.method != "HEAD" and size > 0:
            async for chunk in store.read_range(segment.storage_key, start, end):
                await response.write(chunk)
        await response.write_eof()
    except MissingObject:
        # Removed between the size and the read: the client sees a short body.
        logger.warning("segment %s vanished while being served", segment.id)
    except ConnectionResetError:
        # The reviewer seeked elsewhere or closed the page: nothing to answer.
        logger.debug("segment %s: the client went away", segment.id)
    return response


# ---------------------------------------------------------------- the audit log


@dataclass(frozen=True)
class AuditFilters:
    """The audit page's filters, from the query string (bad values are ignored)."""

    case_id: int | None
    session_id: int | None
    actor: str
    action: str
    before: int | None


def _int_or_none(raw: str) -> int | None:
    raw = raw.strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    return None


async def audit_page(request: web.Request) -> web.StreamResponse:
    """``/audit``: the audit log of the cases in the centre's scope, newest first, with
    filters and a chain check (``?verify=1``)."""
    db = ctx(request).db
    who = _staff_or_login(request)
    if who.role not in CENTRE_ROLES:
        raise NotFound()
    q = request.query
    filters = AuditFilters(
        case_id=_int_or_none(q.get("case", "")),
        session_id=_int_or_none(q.get("session", "")),
        actor=q.get("actor", "").strip()[:100],
        action=q.get("action", "").strip()[:32],
        before=_int_or_none(q.get("before", "")),
    )
    query = select(AuditEntry)
    in_scope = select(Case.id).where(case_scope(who))
    if who.role == "administrator":
        # The administrator also sees entries about no case (system acts).
        query = query.where((AuditEntry.case_id.in_(in_scope)) | AuditEntry.case_id.is_(None))
    else:
        query = query.where(AuditEntry.case_id.in_(in_scope))
    if filters.case_id is not None:
        query = query.where(AuditEntry.case_id == filters.case_id)
    if filters.session_id is not None:
        query = query.where(AuditEntry.session_id == filters.session_id)
    if filters.actor:
        query = query.where(AuditEntry.actor_name.contains(filters.actor, autoescape=True))
    if filters.action in set(AuditAction):
        query = query.where(AuditEntry.action == filters.action)
    if filters.before is not None:
        query = query.where(AuditEntry.seq < filters.before)
    rows = list(await db.scalars(query.order_by(AuditEntry.seq.desc()).limit(AUDIT_PAGE_SIZE + 1)))
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    check: ChainCheck | None = None
    if q.get("verify") == "1":
        check = await verify_audit_chain(db)
    kept = {k: v for k, v in q.items() if k not in ("before", "verify", "lang")}
    return render(
        request,
        "recording/audit.html",
        {
            "entries": rows,
            "filters": filters,
            "actions": list(AuditAction),
            "check": check,
            "next_before": rows[-1].seq if more and rows else None,
            "kept": kept,
        },
    )


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/cases/{case_id:[0-9]+}/recordings", case_recordings)
    app.router.add_get("/recordings/{session_id}", review_page)
    app.router.add_get("/recordings/{session_id}/segments/{segment_id}", segment_media)
    app.router.add_get("/audit", audit_page)
