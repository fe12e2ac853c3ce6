"""``create_app(settings)``: the aiohttp application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import jinja2
from aiohttp import web

from recording.seal import seal_context
from recording.transcription.job import register_transcription_jobs
from server import middleware
from server.api import auth as _auth_api  # noqa: F401 (declares operations)
from server.api import cases as _cases_api  # noqa: F401
from server.api import confirmation as _confirmation_api  # noqa: F401
from server.api import documents as _documents_api  # noqa: F401
from server.api import exports as _exports_api  # noqa: F401
from server.api import hearings as _hearings_api  # noqa: F401
from server.api import live as _live_api  # noqa: F401
from server.api import mediation_record as _mediation_record_api  # noqa: F401
from server.api import meta
from server.api import public as _public_api  # noqa: F401
from server.api import recordings as _recordings_api  # noqa: F401
from server.api import signatures as _signatures_api  # noqa: F401
from server.api import stats as _stats_api  # noqa: F401
from server.api import transcripts as _transcripts_api  # noqa: F401
from server.api.routes import api
from server.appkeys import CATALOGUES, ENGINE, JINJA, SESSIONMAKER, SETTINGS
from server.db.engine import create_engine, create_sessionmaker
from server.i18n import Catalogues
from server.jobs.setup import setup_jobs
from server.metrics import setup_metrics
from server.settings import Settings
from server.views import pages
from signaling.cluster.setup import setup_placement
from signaling.live import setup_live

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


def create_jinja(settings: Settings) -> jinja2.Environment:
    """The template environment: autoescaped, undefined names fail loudly in development."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.web_dir / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined
        if settings.environment != "production"
        else jinja2.Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    pages.install_filters(env)
    return env


def create_app(settings: Settings) -> web.Application:
    """Build the application for ``settings``. The database must already be migrated
    (``bilin serve`` and the tests do that first)."""
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[middleware.security_headers, middleware.errors, middleware.request_context],
    )
    app[SETTINGS] = settings
    app[CATALOGUES] = Catalogues.load(settings.web_dir / "i18n")
    app[JINJA] = create_jinja(settings)
    app.cleanup_ctx.append(_database)
    # Signing keys of centres and courts made on first start; manifest time-stamp retries.
    app.cleanup_ctx.append(seal_context)
    # socket.io at /socket.io/ and the media worker, started after (and stopped before) the
    # database.
    setup_live(app)
    setup_placement(app)
    setup_metrics(app)
    # Background jobs (renders, transcriptions): stopped before the database closes.
    jobs = setup_jobs(app)
    # Draft transcription of recorded audio tracks (recording.transcription).
    register_transcription_jobs(jobs)
    api.add_routes(app)
    app.router.add_get("/api/openapi.json", meta.openapi)
    pages.add_routes(app)
    app.router.add_static("/static/", settings.web_dir / "static", append_version=True)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS])
    app[ENGINE] = engine
    app[SESSIONMAKER] = create_sessionmaker(engine)
    yield
    await engine.dispose()
