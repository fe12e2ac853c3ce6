"""Public API: filing a dispute without an account; a party's rating through their link."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from server.api.routes import api
from server.appkeys import SETTINGS
from server.auth.throttle import take_public_submission
from server.context import ctx, party
from server.schemas.cases import PublicDisputeRequest, PublicDisputeResult, RatingRequest
from server.vocabulary import OrgKind
from server.workflow import aftercare, submission

TAG = "public"


class CentreOut(BaseModel):
    """A centre citizens can file with."""

    code: str
    name: str
    kind: OrgKind
    parent_code: str | None


@api.operation(
    "GET",
    "/api/public/centres",
    summary="Centres that accept disputes",
    tag=TAG,
    response=list[CentreOut],
    auth="none",
)
async def centres(request: web.Request) -> list[CentreOut]:
    """Every governance centre, in tree order."""
    rows = await submission.public_centres(ctx(request).db)
    codes = {org.id: org.code for org in rows}
    return [
        CentreOut(
            code=org.code,
            name=org.name,
            kind=org.kind,
            parent_code=codes.get(org.parent_id) if org.parent_id else None,
        )
        for org in rows
    ]


@api.operation(
    "POST",
    "/api/public/disputes",
    summary="File a dispute (no account needed)",
    tag=TAG,
    body=PublicDisputeRequest,
    response=PublicDisputeResult,
    status=201,
    auth="none",
    errors=(429,),
)
async def file_dispute(request: web.Request, body: PublicDisputeRequest) -> PublicDisputeResult:
    """The centre receives it for acceptance; the citizen follows it with the link returned."""
    context = ctx(request)
    await take_public_submission(context.db, request.app[SETTINGS], request)
    case, token = await submission.submit(context.db, body, context.today)
    return PublicDisputeResult(
        reference=case.id, follow_url=f"{request.app[SETTINGS].base_url}/p/{token}"
    )


@api.operation(
    "POST",
    "/api/party/rating",
    summary="Rate a closed case (群众评价)",
    tag=TAG,
    body=RatingRequest,
    status=201,
    auth="party",
    errors=(409,),
)
async def rate(request: web.Request, body: RatingRequest) -> None:
    """A party rates their case through the session their link opened."""
    await aftercare.rate(ctx(request).db, party(request), body)
