"""Background jobs' progress, and evidence packages of recording sessions: start an export,
follow it, download the package."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from recording.export import export_in_scope, request_export
from server.api.routes import api
from server.appkeys import JOBS
from server.context import ctx, match_int, staff
from server.db.export import RecordingExport
from server.db.job import Job
from server.i18n import Translator
from server.jobs.views import JobOut, job_in_scope, job_out
from server.validation import Body

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


class ExportRequest(Body):
    """``POST /api/recordings/{session_id}/exports``."""

    sealed: bool = Field(
        default=False,
        description="every caucus room included (centre and mediator only); "
        "default: the court's package (main room and released caucus rooms)",
    )


class ExportOut(BaseModel):
    """An evidence package and the job building it."""

    id: int
    session_id: int
    sealed: bool
    job: JobOut
    ready: bool = Field(description="built: the package can be downloaded")
    bytes: int | None = None
    sha256: str | None = None
    download_url: str | None = None


def export_out(export: RecordingExport, job: Job, translate: Translator) -> ExportOut:
    """The public view of an export."""
    ready = bool(export.package_key)
    return ExportOut(
        id=export.id,
        session_id=export.session_id,
        sealed=export.sealed,
        job=job_out(job, translate),
        ready=ready,
        bytes=export.bytes,
        sha256=export.sha256,
        download_url=f"/exports/{export.id}/package" if ready else None,
    )


@api.operation(
    "POST",
    "/api/recordings/{session_id}/exports",
    summary="Start building a session's evidence package (a background job)",
    tag="recordings",
    body=ExportRequest,
    response=ExportOut,
    status=202,
    errors=(403, 404, 422),
)
async def create_export(request: web.Request, body: ExportRequest) -> ExportOut:
    """Queue the export; follow ``job`` with ``GET /api/jobs/{id}``, then download from
    ``download_url`` (``GET /api/exports/{id}``)."""
    context = ctx(request)
    export = await request_export(
        context.db,
        request.app[JOBS],
        staff(request),
        match_int(request, "session_id"),
        sealed=body.sealed,
    )
    job = await context.db.get(Job, export.job_id)
    assert job is not None
    return export_out(export, job, context.translate)


@api.operation(
    "GET",
    "/api/exports/{export_id}",
    summary="An evidence package: its job's progress and, once built, where to download it",
    tag="recordings",
    response=ExportOut,
    errors=(404,),
)
async def get_export(request: web.Request) -> ExportOut:
    """The export if its session is in the caller's scope (a sealed one: centre and mediator
    only)."""
    context = ctx(request)
    export = await export_in_scope(context.db, staff(request), match_int(request, "export_id"))
    job = await context.db.get(Job, export.job_id)
    assert job is not None
    return export_out(export, job, context.translate)
