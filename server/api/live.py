"""``/api/live/worker``: which media worker a page connects to for its hearing.

One process answers with itself. With several workers (``BILIN_REDIS_URL``), the room's live
holder is returned, or the room is placed on the least loaded worker that is not full; a
page asks again whenever its connection drops, which is how a dead worker's hearings move.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from server.api.routes import api
from server.appkeys import PLACEMENT
from server.context import ctx
from server.errors import BilinError, NotFound
from server.hearings.seats import acting_seat
from server.validation import Body
from signaling.cluster.registry import NoWorkerAvailable

TAG = "live"


class WorkerQuery(Body):
    """The hearing (staff name it; a link's session already says which)."""

    hearing_id: int | None = Field(default=None, gt=0, lt=2**31)


class WorkerOut(BaseModel):
    """Where to open socket.io."""

    worker: str
    socket_path: str


class MediaFull(BilinError):
    """Every media worker is at capacity."""

    status = 503
    key = "error.live_media_full"


@api.operation(
    "GET",
    "/api/live/worker",
    summary="The media worker holding a hearing's room (placing it if needed)",
    tag=TAG,
    query=WorkerQuery,
    response=WorkerOut,
    auth="none",
    errors=(404, 503),
)
async def live_worker(request: web.Request, query: WorkerQuery) -> WorkerOut:
    """Answer for the caller's own seat only; anyone else finds nothing."""
    context = ctx(request)
    who = context.principal
    hearing_id = query.hearing_id or getattr(who, "hearing_id", None)
    if not isinstance(hearing_id, int):
        raise NotFound()
    if await acting_seat(context.db, who, hearing_id) is None:
        raise NotFound()
    placement = request.app[PLACEMENT]
    try:
        claim = await placement.claim(hearing_id)
    except NoWorkerAvailable:
        raise MediaFull() from None
    return WorkerOut(worker=claim.worker_id, socket_path=placement.socket_path(claim.worker_id))
