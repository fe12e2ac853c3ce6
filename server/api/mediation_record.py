"""``/api/hearings/{id}/record`` and ``/api/records/...``: the mediation record editor's API
(autosave with a version counter, sign-off), and a party's confirmation through their link."""

from __future__ import annotations

import json

from aiohttp import web

from server.api.routes import api
from server.appkeys import SETTINGS
from server.context import ctx, match_int, party
from server.documents import record
from server.documents.schemas import ConflictOut, PartyRecordOut, RecordOut, StatementsPut
from server.documents.templates import TemplateDirs

TAG = "mediation record"


@api.operation(
    "GET",
    "/api/hearings/{hearing_id}/record",
    summary="A hearing's mediation record (opened on first use by whoever may edit it)",
    tag=TAG,
    response=RecordOut,
    auth="participant",
)
async def record_of_hearing(request: web.Request) -> RecordOut:
    """For the hearing's presiding seat (logged in or through their link) and staff who may
    see the case."""
    context = ctx(request)
    row, editor = await record.open_record(
        context.db, context.principal, match_int(request, "hearing_id")
    )
    return await record.record_out(context.db, row, editor)


@api.operation(
    "GET",
    "/api/records/{record_id}",
    summary="One mediation record",
    tag=TAG,
    response=RecordOut,
    auth="participant",
)
async def record_get(request: web.Request) -> RecordOut:
    """The record, its statements and the hearing's seats (the speakers to choose from)."""
    context = ctx(request)
    row, editor = await record.record_by_id(
        context.db, context.principal, match_int(request, "record_id")
    )
    return await record.record_out(context.db, row, editor)


@api.operation(
    "PUT",
    "/api/records/{record_id}/statements",
    summary="Autosave the record's statements on top of the version last seen",
    tag=TAG,
    body=StatementsPut,
    response=RecordOut,
    auth="participant",
    errors=(409, 422),
)
async def record_save(request: web.Request, body: StatementsPut) -> RecordOut | web.Response:
    """409 when someone else saved in between: the body's ``record`` is what they saved, for
    the editor to merge its unsaved lines into."""
    context = ctx(request)
    try:
        return await record.save_statements(
            context.db,
            context.principal,
            match_int(request, "record_id"),
            body.base_version,
            body.statements,
        )
    except record.RecordConflict as conflict:
        out = ConflictOut(
            error={"code": conflict.key, "message": context.translate(conflict.key)},
            record=conflict.record,
        )
        return web.json_response(
            out.model_dump(mode="json"),
            status=409,
            dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
        )


@api.operation(
    "POST",
    "/api/records/{record_id}/sign-off",
    summary="The mediator signs the record off: frozen, and the 调解笔录 is issued",
    tag=TAG,
    response=RecordOut,
    auth="participant",
    errors=(403, 409, 422),
)
async def record_sign_off(request: web.Request) -> RecordOut:
    """Only the hearing's presiding seat or the case's mediator; a template that fails to
    render is refused and nothing changes."""
    context = ctx(request)
    settings = request.app[SETTINGS]
    row, _ = await record.sign_off(
        context.db,
        context.principal,
        match_int(request, "record_id"),
        template_dir=TemplateDirs.from_settings(settings),
        timezone=settings.timezone,
        today=context.today,
    )
    _, editor = await record.record_by_id(context.db, context.principal, row.id)
    return await record.record_out(context.db, row, editor)


@api.operation(
    "GET",
    "/api/party/records",
    summary="The signed-off mediation records of the party's case",
    tag=TAG,
    response=list[PartyRecordOut],
    auth="party",
)
async def party_record_list(request: web.Request) -> list[PartyRecordOut]:
    """What the party reads before confirming (ID numbers masked)."""
    return await record.party_records(ctx(request).db, party(request))


@api.operation(
    "POST",
    "/api/party/records/{record_id}/confirm",
    summary="A party confirms a signed-off mediation record",
    tag=TAG,
    response=PartyRecordOut,
    auth="party",
)
async def party_record_confirm(request: web.Request) -> PartyRecordOut:
    """Bound to the SHA-256 of the document shown; confirming twice changes nothing."""
    context = ctx(request)
    who = party(request)
    row = await record.confirm_record(context.db, who, match_int(request, "record_id"))
    return await record.party_record(context.db, who, row.id)
