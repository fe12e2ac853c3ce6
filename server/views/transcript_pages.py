"""The transcript page of a recording session: run the draft transcription (with a progress
bar), then read each participant's lines on the session clock and accept or correct them.
Plain forms: everything works without JavaScript (a reload shows the job's state)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from recording.access import session_in_scope
from recording.transcription.accept import EDITOR_ROLES, MAX_TEXT, accept_line
from recording.transcription.job import TRANSCRIBE_JOB, pending_job
from recording.transcription.lines import line_in_scope, visible_lines
from server.access import require_role
from server.appkeys import JOBS
from server.auth.principal import StaffPrincipal
from server.context import ctx, match_int
from server.db import Case
from server.jobs.views import job_out
from server.views.render import redirect, render


def _staff_or_login(request: web.Request) -> StaffPrincipal:
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
    return who


async def transcript_page(request: web.Request) -> web.StreamResponse:
    """``/recordings/{session_id}/transcript``."""
    context = ctx(request)
    who = _staff_or_login(request)
    session, lines = await visible_lines(context.db, who, match_int(request, "session_id"))
    case = await context.db.get(Case, session.case_id)
    job = await pending_job(context.db, session.id)
    return render(
        request,
        "recording/transcript.html",
        {
            "session": session,
            "case": case,
            "lines": lines,
            "job": job_out(job, context.translate) if job else None,
            "may_edit": who.role in EDITOR_ROLES,
            "max_text": MAX_TEXT,
            "saved": request.query.get("saved", ""),
        },
    )


async def transcript_run(request: web.Request) -> web.StreamResponse:
    """The form: queue the transcription (unless one is under way), back to the page."""
    context = ctx(request)
    who = _staff_or_login(request)
    session = await session_in_scope(context.db, who, match_int(request, "session_id"))
    require_role(who, *EDITOR_ROLES)
    if await pending_job(context.db, session.id) is None:
        await request.app[JOBS].enqueue(
            context.db,
            TRANSCRIBE_JOB,
            {"session_id": session.id},
            case_id=session.case_id,
            created_by_id=who.staff_id,
        )
    return redirect(f"/recordings/{session.id}/transcript")


async def line_accept(request: web.Request) -> web.StreamResponse:
    """The form beside each line: accept it with the text as shown (corrected or not)."""
    context = ctx(request)
    who = _staff_or_login(request)
    line, _ = await line_in_scope(context.db, who, match_int(request, "line_id"))
    require_role(who, *EDITOR_ROLES)
    form = await request.post()
    text = str(form.get("text", "")).strip()[:MAX_TEXT]
    await accept_line(context.db, who, line, text or None)
    return redirect(f"/recordings/{line.session_id}/transcript?saved={line.id}#line-{line.id}")


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/recordings/{session_id}/transcript", transcript_page)
    app.router.add_post("/recordings/{session_id}/transcript", transcript_run)
    app.router.add_post("/transcript-lines/{line_id}/accept", line_accept)
