"""Wire placement into the app: local by default, the Redis registry with ``BILIN_REDIS_URL``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import LIVE, PLACEMENT, SETTINGS

from .placement import ClusterPlacement, LocalPlacement, Placement


def _load(app: web.Application) -> tuple[list[str], int]:
    """Hearings this worker holds and the people connected to them."""
    service = app.get(LIVE)
    if service is None:
        return [], 0
    hearings = list(service.hearings.values())
    return [str(h.id) for h in hearings], sum(len(h.connected()) for h in hearings)


def setup_placement(app: web.Application) -> Placement:
    """Create the app's placement and run it with the app."""
    settings = app[SETTINGS]
    placement: Placement
    if settings.redis_url:
        placement = ClusterPlacement(
            settings.redis_url,
            settings.worker_id,
            f"{settings.host}:{settings.port}",
            max_rooms=settings.media_max_rooms,
            max_participants=settings.media_max_participants,
            load=lambda: _load(app),
        )
    else:
        placement = LocalPlacement(settings.worker_id)
    app[PLACEMENT] = placement

    async def run(app: web.Application) -> AsyncIterator[None]:
        await placement.start()
        try:
            yield
        finally:
            await placement.stop()

    app.cleanup_ctx.append(run)
    return placement
