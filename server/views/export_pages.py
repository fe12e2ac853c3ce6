"""The export page of a recording session (start an evidence package, watch its progress bar,
download it) and the package download itself.

The package is streamed from the recording store by the export's database id, after the same
scope check as every recording; a sealed package (every caucus room) only for the centre and
the mediator. Each download is written to the audit log before a byte leaves.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from recording.access import CAUCUS_ROLES, session_in_scope
from recording.export import download_name, export_in_scope, exports_of, request_export
from recording.storage import MissingObject
from recording.stores import open_store
from server.access import COURT_ROLES
from server.appkeys import JOBS, SETTINGS
from server.audit.log import audit
from server.audit.vocabulary import AuditAction, AuditObject
from server.auth.principal import StaffPrincipal
from server.context import ctx, match_int
from server.db import Case
from server.errors import NotFound
from server.jobs.views import job_out
from server.views.render import redirect, render

logger = logging.getLogger(__name__)


def _staff_or_login(request: web.Request) -> StaffPrincipal:
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe="/"))
    return who


async def export_page(request: web.Request) -> web.StreamResponse:
    """``/recordings/{session_id}/export``: the session's packages and a form for a new one."""
    context = ctx(request)
    who = _staff_or_login(request)
    session = await session_in_scope(context.db, who, match_int(request, "session_id"))
    case = await context.db.get(Case, session.case_id)
    rows = [
        (export, job_out(job, context.translate))
        for export, job in await exports_of(context.db, session.id)
        if not export.sealed or who.role in CAUCUS_ROLES
    ]
    return render(
        request,
        "recording/export.html",
        {
            "session": session,
            "case": case,
            "exports": rows,
            "may_export": who.role in (*CAUCUS_ROLES, *COURT_ROLES),
            "may_seal": who.role in CAUCUS_ROLES,
        },
    )


async def export_submit(request: web.Request) -> web.StreamResponse:
    """The form: start an export, back to the page (where its progress bar runs)."""
    context = ctx(request)
    who = _staff_or_login(request)
    form = await request.post()
    session_id = match_int(request, "session_id")
    await request_export(
        context.db, request.app[JOBS], who, session_id, sealed=form.get("sealed") == "1"
    )
    return redirect(f"/recordings/{session_id}/export")


async def export_package(request: web.Request) -> web.StreamResponse:
    """``/exports/{export_id}/package``: the zip, streamed from the store (audited)."""
    context = ctx(request)
    who = context.principal
    if not isinstance(who, StaffPrincipal):
        raise NotFound()
    export = await export_in_scope(context.db, who, match_int(request, "export_id"))
    if not export.package_key:
        raise NotFound()
    store = open_store(request.app[SETTINGS])
    try:
        size = await store.size(export.package_key)
    except (MissingObject, ValueError):
        raise NotFound() from None
    case = await context.db.get(
        Case, (await session_in_scope(context.db, who, export.session_id)).case_id
    )
    assert case is not None
    await audit(
        context.db,
        who,
        AuditAction.EXPORT,
        case_id=case.id,
        object_type=AuditObject.EXPORT,
        object_id=export.id,
        session_id=export.session_id,
        detail={"step": "downloaded", "sha256": export.sha256, "sealed": export.sealed},
    )
    await context.db.commit()
    name = download_name(case, export)
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Length": str(size),
            "Content-Disposition": (
                f'attachment; filename="bilin-export-{export.id}.zip"; '
                f"filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "private, no-store",
        }
    )
    await response.prepare(request)
    if size > 0:
        try:
            async for chunk in store.read_range(export.package_key, 0, size - 1):
                await response.write(chunk)
        except MissingObject:
            logger.warning("export %s vanished while being downloaded", export.id)
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/recordings/{session_id}/export", export_page)
    app.router.add_post("/recordings/{session_id}/export", export_submit)
    app.router.add_get("/exports/{export_id}/package", export_package)
