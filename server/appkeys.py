"""Typed keys for what the application holds (no module-level state: it lives on the app)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.i18n import Catalogues
from server.settings import Settings

if TYPE_CHECKING:
    from recording.service import RecordingService
    from server.jobs.runner import JobRunner
    from signaling.cluster.placement import Placement
    from signaling.live.service import LiveService

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessionmaker")
CATALOGUES = web.AppKey("catalogues", Catalogues)
JINJA = web.AppKey("jinja", jinja2.Environment)
# Live hearings: the socket.io server and the media worker (signaling.live).
LIVE: web.AppKey[LiveService] = web.AppKey("live")
# Recordings of this process's hearings (recording.service), run with the live service.
RECORDING: web.AppKey[RecordingService] = web.AppKey("recording")
# Background jobs (server.jobs.runner): register handlers at build time, enqueue from views.
JOBS: web.AppKey[JobRunner] = web.AppKey("jobs")
# Where hearings' rooms live: this process, or a worker chosen through Redis (signaling.cluster).
PLACEMENT: web.AppKey[Placement] = web.AppKey("placement")
