"""Background jobs' progress, and evidence packages of recording sessions: start an export,
follow it, download the package."""

from __future__ import annotations

from aiohttp import web

from server.api.routes import api
from server.context import ctx, match_int, staff
from server.jobs.views import JobOut, job_in_scope, job_out

TAG = "jobs"


@api.operation(
    "GET",
    "/api/jobs/{job_id}",
    summary="A background job's progress (renders, exports, transcriptions)",
    tag=TAG,
    response=JobOut,
    errors=(404,),
)
async def job_progress(request: web.Request) -> JobOut:
    """Status, progress (0..1) and the current message of a job whose case is in the caller's
    scope; poll it until ``finished``."""
    context = ctx(request)
    job = await job_in_scope(context.db, staff(request), match_int(request, "job_id"))
    return job_out(job, context.translate)
