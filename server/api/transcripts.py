"""``/api/recording-sessions/{id}/transcript`` and ``/api/transcript-lines/{id}``: a
recording's draft transcript (per-participant lines on the session clock), running the
transcription job, and accepting or correcting lines.

Access follows :mod:`recording.access`: the session must be in the caller's scope and a
sealed caucus room's lines are left out (asking for one answers 404, like a missing line).
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, Field

from recording.access import session_in_scope
from recording.transcription.accept import EDITOR_ROLES, MAX_TEXT, accept_line
from recording.transcription.job import TRANSCRIBE_JOB, pending_job
from recording.transcription.lines import LineView, line_in_scope, refreshed, visible_lines
from server.access import require_role
from server.api.routes import api
from server.appkeys import JOBS
from server.context import ctx, match_int, staff
from server.jobs.views import JobOut, job_out
from server.validation import Body

TAG = "recordings"


class TranscriptLineOut(BaseModel):
    """One recognised line, attributed to the participant whose track it came from."""

    id: int
    start_ms: int = Field(description="session clock")
    end_ms: int = Field(description="session clock")
    participant_id: int
    speaker: str
    role: str
    sub_room: str
    text: str
    status: str = Field(description="machine_draft until a person accepts it, then accepted")
    engine: str
    accepted_at: dt.datetime | None = None


class TranscriptOut(BaseModel):
    """The lines the caller may see, in time order, and a transcription job under way."""

    session_id: int
    lines: list[TranscriptLineOut]
    job: JobOut | None = None


class LineAcceptRequest(Body):
    """Accept a line as it is, or with corrected ``text``."""

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)


def line_out(view: LineView) -> TranscriptLineOut:
    """The public view of a line."""
    return TranscriptLineOut(
        id=view.id,
        start_ms=view.start_ms,
        end_ms=view.end_ms,
        participant_id=view.participant_id,
        speaker=view.speaker,
        role=view.role,
        sub_room=view.sub_room,
        text=view.text,
        status=str(view.status),
        engine=view.engine,
        accepted_at=view.accepted_at,
    )


@api.operation(
    "GET",
    "/api/recording-sessions/{session_id}/transcript",
    summary="A recording's transcript lines (sealed caucus rooms left out)",
    tag=TAG,
    response=TranscriptOut,
    errors=(404,),
)
async def transcript_get(request: web.Request) -> TranscriptOut:
    """Every line of the rooms the caller may open, with its speaker and standing."""
    context = ctx(request)
    session, lines = await visible_lines(
        context.db, staff(request), match_int(request, "session_id")
    )
    job = await pending_job(context.db, session.id)
    return TranscriptOut(
        session_id=session.id,
        lines=[line_out(v) for v in lines],
        job=job_out(job, context.translate) if job else None,
    )


@api.operation(
    "POST",
    "/api/recording-sessions/{session_id}/transcript/jobs",
    summary="Transcribe every audio track of a recording (a background job)",
    tag=TAG,
    response=JobOut,
    status=202,
    errors=(403, 404),
)
async def transcript_start(request: web.Request) -> JobOut:
    """Queue the transcription (or answer the one already queued or running); follow it with
    ``GET /api/jobs/{id}``. A re-run replaces machine drafts, never accepted lines."""
    context = ctx(request)
    who = staff(request)
    session = await session_in_scope(context.db, who, match_int(request, "session_id"))
    require_role(who, *EDITOR_ROLES)
    job = await pending_job(context.db, session.id)
    if job is None:
        job = await request.app[JOBS].enqueue(
            context.db,
            TRANSCRIBE_JOB,
            {"session_id": session.id},
            case_id=session.case_id,
            created_by_id=who.staff_id,
        )
        await context.db.commit()
    return job_out(job, context.translate)


@api.operation(
    "POST",
    "/api/transcript-lines/{line_id}/accept",
    summary="Accept a transcript line, as it is or with corrected text",
    tag=TAG,
    body=LineAcceptRequest,
    response=TranscriptLineOut,
    errors=(403, 404, 422),
)
async def transcript_accept(request: web.Request, body: LineAcceptRequest) -> TranscriptLineOut:
    """Mark the line accepted by the caller now (a machine run never replaces it again)."""
    context = ctx(request)
    who = staff(request)
    line, view = await line_in_scope(context.db, who, match_int(request, "line_id"))
    require_role(who, *EDITOR_ROLES)
    await accept_line(context.db, who, line, body.text)
    await context.db.commit()
    return line_out(refreshed(view, line))
