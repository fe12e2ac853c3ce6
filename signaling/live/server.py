"""The socket.io server of live hearings, attached to the aiohttp app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import engineio
import socketio
from aiohttp import web

from recording.service import RecordingService
from server.appkeys import LIVE, RECORDING, SESSIONMAKER, SETTINGS
from server.settings import Settings

from . import actions, moderation, recording
from .service import LiveService

# engine.io accepts 1 MB messages by default; the largest legitimate message is an SDP offer.
MAX_MESSAGE_BYTES = 16 * 1024
SOCKETIO_PATH = "socket.io"


def origin_check(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """Only the site itself may open a connection: its public URL, or the origin the request
    was sent to (scheme and ``Host``)."""
    public = urlsplit(settings.public_base_url)
    allowed = {f"{public.scheme}://{public.netloc}"} if public.netloc else set()

    def allowed_origin(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True  # not a browser: the session cookie is what counts
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin in allowed or origin == own

    return allowed_origin


class EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engine.io server that remembers the tasks it starts (pings, event handlers), so that
    the live service can cancel them when the app stops instead of leaving them pending."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks: set[asyncio.Task[Any]] = set()

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        task = super().start_background_task(target, *args, **kwargs)
        if isinstance(task, asyncio.Task):
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return task


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's AsyncServer on :class:`EngineServer`."""

    def _engineio_server_class(self) -> type[EngineServer]:
        return EngineServer


def create_socketio(settings: Settings) -> socketio.AsyncServer:
    """An AsyncServer locked down: own origin only, 16 KiB messages, quick drop detection.
    With several workers, events to a connection on another worker go through Redis."""
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel="bilin-live")
        if settings.redis_url
        else None
    )
    return SocketServer(
        client_manager=manager,
        async_mode="aiohttp",
        cors_allowed_origins=origin_check(settings),
        cors_credentials=True,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        # A vanished browser is noticed within ~20 s (its media stops, its seat is kept).
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )


def setup_live(app: web.Application) -> LiveService:
    """Serve ``/socket.io/`` (namespace ``/live``) and run the media worker with the app."""
    sio = create_socketio(app[SETTINGS])
    service = LiveService(app, sio)
    app[RECORDING] = RecordingService(app[SETTINGS], lambda: app[SESSIONMAKER]())
    actions.register(service)
    moderation.register(service)
    recording.register(service)
    sio.attach(app, socketio_path=SOCKETIO_PATH)
    app[LIVE] = service
    app.on_shutdown.append(service.on_shutdown)
    app.cleanup_ctx.append(service.context)
    # After the live service's: recordings start after the media worker and stop before it.
    app.cleanup_ctx.append(app[RECORDING].context)
    return service
