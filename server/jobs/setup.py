"""The app's job runner: created with the app (so modules can register handlers while the
app is built), started once the database is open and stopped before it closes. With an object
store configured, the recording offloader (:class:`recording.stores.Offloader`) runs beside
it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import JOBS, SESSIONMAKER, SETTINGS
from server.jobs.runner import JobRunner


def setup_jobs(app: web.Application) -> JobRunner:
    """Put a :class:`JobRunner` on ``app`` (``app[JOBS]``) with Bilin's own job kinds."""
    # Imported here: the export handler pulls in PyAV and Pillow, which the rest of the app
    # does not need at import time.
    from recording.export import register_export_jobs

    runner = JobRunner(app[SETTINGS])
    register_export_jobs(runner)
    app[JOBS] = runner
    app.cleanup_ctx.append(_run_jobs)
    return runner


async def _run_jobs(app: web.Application) -> AsyncIterator[None]:
    from recording.stores import Offloader, SpoolThenRemote, open_store

    runner = app[JOBS]
    settings = app[SETTINGS]
    offloader: Offloader | None = None
    if settings.run_jobs:
        runner.start(app[SESSIONMAKER])
        store = open_store(settings)
        # With an object store, closed segments move there from the spool in the background.
        if isinstance(store, SpoolThenRemote):
            offloader = Offloader(app[SESSIONMAKER], store)
            offloader.start()
    yield
    if offloader is not None:
        await offloader.stop()
    await runner.stop()
