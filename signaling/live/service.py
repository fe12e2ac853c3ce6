"""The live service: socket.io connections of the ``/live`` namespace, the hearings they are
in, and the bridge to the media worker.

Identity never comes from a payload: a connection is bound, when it connects, to the seat its
``bilin_session`` cookie stands for, and every event acts as that seat. Each event is checked
in one place (:meth:`LiveService.on_event`): rate limit, known name, payload model, ``hello``
first, moderator rights; the handlers in :mod:`.actions` and :mod:`.moderation` only ever see
valid payloads from the seat's own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NoReturn

import socketio
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recording.service import RecordingService
from recording.vocabulary import RecordingEventKind
from server.appkeys import CATALOGUES, RECORDING, SESSIONMAKER, SETTINGS
from server.auth.principal import ParticipantPrincipal, Principal, StaffPrincipal
from server.auth.sessions import SESSION_COOKIE, load_session
from server.db.base import utcnow
from server.hearings.invitations import Revocation, revocations_since
from server.hearings.live import REVOCATIONS
from server.hearings.seats import staff_seat
from server.i18n import DEFAULT_LOCALE, Translator
from server.logs import bind
from server.middleware import LANG_COOKIE, pick_locale
from signaling.media import (
    ClosedError,
    IceServer,
    MediaConfig,
    MediaError,
    MediaEvents,
    MediaWorker,
    NegotiationError,
    Participant,
    Room,
)
from signaling.media import UnknownParticipant as MediaUnknownParticipant

from . import cluster, errors
from .events import EVENTS, MODERATOR_EVENTS, Event
from .ratelimit import MAX_REFUSALS, ConnectionLimits
from .records import load_hearing, refresh_seats
from .state import WAITING, LiveHearing, Seat

logger = logging.getLogger(__name__)

NAMESPACE = "/live"
# What the page calls a published track, by the media worker's label.
PAGE_LABELS = {"microphone": "audio", "camera": "video", "screen": "screen"}
MEDIA_LABELS = {"audio": "microphone", "video": "camera", "screen": "screen"}

# How often quality marks are refreshed and revocations polled (other processes).
TICK_S = 2.0
# How often each connection's session is looked up again (logout, expiry, revocation).
SESSION_CHECK_S = 30.0
# A hearing nobody is in is forgotten (locations, caucus rooms) after this long.
IDLE_FORGET_S = 15 * 60

Handler = Callable[["LiveService", "Connection", Any], Awaitable[dict[str, Any]]]


@dataclass
class Connection:
    """One socket.io connection, bound to a seat when it connected."""

    sid: str
    hearing_id: int
    participant_id: int
    principal: Principal
    session_token: str
    t: Translator
    connected_at: dt.datetime
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    # One event of a connection at a time, in the order they came.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    greeted: bool = False
    closing: bool = False
    refusals: int = 0
    last_state: str | None = None


class MediaBridge(MediaEvents):
    """What the media worker tells the live service (runs synchronously inside the worker)."""

    def __init__(self, service: LiveService) -> None:
        self._service = service

    def renegotiation_needed(self, room_id: str, participant_id: str) -> None:
        self._service.spawn(
            self._service.send_subscribe_offer(int(room_id), int(participant_id)),
            "subscribe offer",
        )


class LiveService:
    """Live hearings of this process (held on the app as ``app[LIVE]``)."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer) -> None:
        self.app = app
        self.sio = sio
        self.hearings: dict[int, LiveHearing] = {}
        # The last state saved for each hearing (signaling.live.cluster).
        self.saved_state: dict[int, str] = {}
        self.connections: dict[str, Connection] = {}
        self._worker: MediaWorker | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._handlers: dict[str, Handler] = {}
        self._stopping = False
        sio.on("connect", namespace=NAMESPACE)(self.on_connect)
        sio.on("disconnect", namespace=NAMESPACE)(self.on_disconnect)
        sio.on("*", namespace=NAMESPACE)(self.on_event)

    # -- life cycle ----------------------------------------------------------------------

    def handle(self, event: str) -> Callable[[Handler], Handler]:
        """Register the handler of a client event (see :mod:`.actions`, :mod:`.moderation`)."""

        def register(handler: Handler) -> Handler:
            self._handlers[event] = handler
            return handler

        return register

    @property
    def worker(self) -> MediaWorker:
        """The media worker (running between start and stop)."""
        if self._worker is None:
            raise ClosedError("the live service is not running")
        return self._worker

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Database sessions of the app."""
        return self.app[SESSIONMAKER]

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: run the media worker and the service with the app."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Start the media worker, listen for revocations, start the periodic checks."""
        settings = self.app[SETTINGS]
        # The server's own peer connections only need STUN (it answers from a public
        # address); TURN credentials are for browsers behind restrictive networks.
        stun = tuple(
            IceServer(urls=tuple(u for u in s.urls if u.startswith("stun:")))
            for s in settings.ice_servers
            if any(u.startswith("stun:") for u in s.urls)
        )
        self._worker = MediaWorker(MediaConfig(ice_servers=stun[:1]), MediaBridge(self))
        await self._worker.start()
        self._unsubscribe = self.app[REVOCATIONS].subscribe(self.on_revocation)
        self._ticker = asyncio.create_task(self._tick_loop(), name="live-ticks")

    async def on_shutdown(self, app: web.Application) -> None:
        """aiohttp on_shutdown: end every connection, so that no websocket handler keeps the
        server's graceful shutdown waiting for its timeout."""
        self._stopping = True
        # Close the engine.io connections (a namespace disconnect would leave them open);
        # socket.io then reports every namespace disconnected (on_disconnect).
        if self.sio.eio.sockets:
            await self.sio.eio.disconnect()
        await self.sio.shutdown()

    async def _disconnect_all(self) -> None:
        for sid in list(self.connections):
            with contextlib.suppress(Exception):
                await self.sio.disconnect(sid, namespace=NAMESPACE)

    async def stop(self) -> None:
        """Disconnect everyone, stop every task we started, close every peer connection."""
        self._stopping = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._disconnect_all()
        self.connections.clear()
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # engine.io's own tasks (pings of closed sockets, handlers still running).
        engine_tasks = [
            t for t in getattr(self.sio.eio, "tasks", ()) if t is not asyncio.current_task()
        ]
        for task in engine_tasks:
            task.cancel()
        await asyncio.gather(*engine_tasks, return_exceptions=True)
        if self._worker is not None:
            await self._worker.stop()
        self.hearings.clear()

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``coro`` as a task this service owns (cancelled on stop; failures logged)."""
        if self._stopping:
            coro.close()
            return
        task = asyncio.create_task(coro, name=f"live: {what}")
        self._tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.error("live task %r failed", what, exc_info=task.exception())

        task.add_done_callback(done)

    # -- connecting ----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        """Bind the connection to the seat its session cookie stands for, or refuse it."""
        request: web.Request = environ["aiohttp.request"]
        token = request.cookies.get(SESSION_COOKIE, "")
        async with self.sessionmaker() as db:
            loaded = await load_session(db, token) if token else None
            t = self._translator(request, loaded.locale if loaded else None)
            if self._stopping or loaded is None:
                self._refuse(t, "error.live_not_signed_in")
            wanted = self._auth_hearing(auth, t)
            principal = loaded.principal
            if isinstance(principal, ParticipantPrincipal):
                if wanted is not None and wanted != principal.hearing_id:
                    self._refuse(t, "error.live_no_seat")
                hearing_id, participant_id = principal.hearing_id, principal.participant_id
            elif isinstance(principal, StaffPrincipal):
                if wanted is None:
                    self._refuse(t, "error.live_bad_auth")
                seat = await staff_seat(db, principal, wanted)
                if seat is None:
                    self._refuse(t, "error.live_no_seat")
                hearing_id, participant_id = wanted, seat.id
            else:
                self._refuse(t, "error.live_no_seat")
        # With several workers, only the worker holding the hearing's room takes it.
        await cluster.check_here(self, hearing_id, t)
        self.connections[sid] = Connection(
            sid=sid,
            hearing_id=hearing_id,
            participant_id=participant_id,
            principal=principal,
            session_token=token,
            t=t,
            connected_at=utcnow(),
        )

    def _translator(self, request: web.Request, remembered: str | None) -> Translator:
        locale = pick_locale(
            request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language"), remembered
        )
        return self.app[CATALOGUES].translator(locale)

    @staticmethod
    def _auth_hearing(auth: object, t: Translator) -> int | None:
        if auth is None:
            return None
        if not isinstance(auth, dict) or set(auth) - {"hearing_id"}:
            LiveService._refuse(t, "error.live_bad_auth")
        value: object = auth.get("hearing_id")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
            LiveService._refuse(t, "error.live_bad_auth")
        return value

    @staticmethod
    def _refuse(t: Translator, key: str) -> NoReturn:
        message = t(key)
        raise socketio.exceptions.ConnectionRefusedError(message, {"code": key, "message": message})

    async def on_disconnect(self, sid: str, *reason: object) -> None:
        """A connection ended: its seat's media stops; the seat keeps its location."""
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        live = self.hearings.get(conn.hearing_id)
        if live is None:
            return
        async with live.lock:
            seat = live.seats.get(conn.participant_id)
            if seat is None or seat.sid != sid:
                return  # replaced, removed or left already
            await self.release_seat(live, seat)
        await self.push_states(live)

    # -- events --------------------------------------------------------------------------

    async def on_event(self, event: str, sid: str, *args: object) -> dict[str, Any]:
        """Every client event: checked here, then handled as the connection's own seat."""
        conn = self.connections.get(sid)
        if conn is None:  # refused or already gone: no language known, use the default
            message = self.app[CATALOGUES].translator(DEFAULT_LOCALE)(errors.Gone.key)
            return {"ok": False, "error": {"code": errors.Gone.key, "message": message}}
        try:
            if conn.closing:
                raise errors.Gone()
            if not conn.limits.allow(event):
                raise errors.RateLimited()
            model = EVENTS.get(event)
            handler = self._handlers.get(event)
            if model is None or handler is None:
                raise errors.UnknownEvent()
            if len(args) != 1 or not isinstance(args[0], dict):
                raise errors.InvalidEvent()
            try:
                payload: Event = model.model_validate(args[0])
            except ValidationError:
                raise errors.InvalidEvent() from None
            if event != "hello" and not conn.greeted:
                raise errors.HelloFirst()
            if event in MODERATOR_EVENTS and not self.seat_of(conn).moderator:
                raise errors.NotModerator()
            async with conn.lock:
                if conn.closing:
                    raise errors.Gone()
                with bind(hearing=conn.hearing_id, participant=conn.participant_id):
                    result = await handler(self, conn, payload)
            return {"ok": True, **result}
        except errors.LiveError as exc:
            return self._refusal(conn, exc.key, exc.params)
        except Exception:
            logger.exception("live event %r from %s failed", event, sid)
            return self._refusal(conn, "error.live_internal", {})

    def _refusal(self, conn: Connection, key: str, params: dict[str, Any]) -> dict[str, Any]:
        conn.refusals += 1
        if conn.refusals == MAX_REFUSALS:
            logger.warning("disconnecting %s: %d events refused", conn.sid, conn.refusals)
            self.spawn(self.sio.disconnect(conn.sid, namespace=NAMESPACE), "disconnect")
        return {"ok": False, "error": {"code": key, "message": conn.t(key, **params)}}

    # -- hearings and seats --------------------------------------------------------------

    def seat_of(self, conn: Connection) -> Seat:
        """The seat a connection stands for (after ``hello``)."""
        live = self.hearings.get(conn.hearing_id)
        seat = live.seats.get(conn.participant_id) if live is not None else None
        if seat is None:
            raise errors.HelloFirst()
        return seat

    def hearing_of(self, conn: Connection) -> LiveHearing:
        """The live hearing of a connection (after ``hello``)."""
        live = self.hearings.get(conn.hearing_id)
        if live is None:
            raise errors.HelloFirst()
        return live

    async def open_hearing(self, db: AsyncSession, hearing_id: int) -> LiveHearing:
        """The live state of a hearing, loaded on first use, seats refreshed."""
        live = self.hearings.get(hearing_id)
        if live is None:
            loaded = await load_hearing(db, hearing_id)
            if loaded is None:
                raise errors.UnknownParticipant()
            # A room moved here from another worker comes back as it was there.
            await cluster.restore(self, loaded)
            live = self.hearings.setdefault(hearing_id, loaded)
            if live is loaded:
                if cluster.shared(self):
                    # Recording left running by a worker that died (this one holds the room
                    # now, so no other live worker can be recording it).
                    self.spawn(cluster.take_over_recording(self, live), "recording takeover")
                return live
        await refresh_seats(db, live)
        return live

    def media_room(self, live: LiveHearing) -> Room:
        """The hearing's media room, with its caucus rooms open (and the recorder in them
        when the hearing is being recorded)."""
        room = self.worker.get_room(str(live.id))
        if room is None:
            room = self.worker.room(str(live.id))
            for caucus in live.caucus_rooms:
                room.open_sub_room(caucus)
            recording = self.recording
            if recording is not None:
                recording.room_opened(live.id, room)
        return room

    @property
    def recording(self) -> RecordingService | None:
        """The app's recording service (``None`` in an app without one)."""
        return self.app.get(RECORDING)

    def note(
        self,
        live: LiveHearing,
        kind: RecordingEventKind,
        seat: Seat | None = None,
        sub_room: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """An entry on the recording's timeline, if the hearing is being recorded."""
        recording = self.recording
        if recording is not None:
            recording.note(live.id, kind, seat.id if seat else None, sub_room, detail)

    def media_participant(self, live: LiveHearing, seat: Seat) -> Participant | None:
        """The seat's participant in the media room, if there is one."""
        room = self.worker.get_room(str(live.id))
        if room is None:
            return None
        try:
            return room.participant(str(seat.id))
        except MediaUnknownParticipant:
            return None

    @staticmethod
    def media_location(location: str) -> str | None:
        """The media worker's name of a location (``None`` is its waiting room)."""
        return None if location == WAITING else location

    def place(self, live: LiveHearing, seat: Seat, location: str) -> None:
        """Put a seat in a location; its media follows at once (call under ``live.lock``)."""
        if seat.location != location:
            self.note(
                live, RecordingEventKind.MOVE, seat, detail={"from": seat.location, "to": location}
            )
        seat.location = location
        participant = self.media_participant(live, seat)
        if participant is not None:
            self.media_room(live).move(participant.id, self.media_location(location))

    async def release_seat(self, live: LiveHearing, seat: Seat) -> None:
        """The seat's connection is gone: stop its media, keep its location (under lock)."""
        if seat.connected:
            self.note(live, RecordingEventKind.LEAVE, seat, seat.location)
        seat.reset_presence()
        if self.media_participant(live, seat) is not None:
            with contextlib.suppress(MediaError):
                await self.media_room(live).remove(str(seat.id))
        if not live.connected():
            live.empty_since = time.monotonic()

    async def evict(self, live: LiveHearing, seat: Seat, reason: str) -> None:
        """Take someone out (removed, revoked): ``removed``, disconnect, media stops at
        once; they come back to the entry location (under ``live.lock``)."""
        sid = seat.sid
        await self.release_seat(live, seat)
        seat.location = seat.entry_location
        if sid is not None:
            self.kick(sid, reason)

    def kick(self, sid: str, reason: str) -> None:
        """Tell a connection it is out, then disconnect it."""
        conn = self.connections.get(sid)
        if conn is not None:
            conn.closing = True

        async def go() -> None:
            await self.emit("removed", {"reason": reason}, sid)
            await self.sio.disconnect(sid, namespace=NAMESPACE)

        self.spawn(go(), "kick")

    # -- sending -------------------------------------------------------------------------

    async def emit(self, event: str, data: dict[str, Any], sid: str) -> None:
        """Send one event to one connection."""
        await self.sio.emit(event, data, to=sid, namespace=NAMESPACE)

    async def push_states(self, live: LiveHearing) -> None:
        """Send each connection of the hearing its state, if it changed since the last one."""
        await cluster.save(self, live)
        for seat in live.connected():
            conn = self.connections.get(seat.sid or "")
            if conn is None or not conn.greeted or conn.closing:
                continue
            view = live.view(seat, conn.t)
            text = json.dumps(view, sort_keys=True, ensure_ascii=False)
            if text != conn.last_state:
                conn.last_state = text
                await self.emit("state", view, conn.sid)

    def state_for(self, live: LiveHearing, seat: Seat, conn: Connection) -> dict[str, Any]:
        """The state a connection gets now (remembered, so it is not sent again)."""
        view = live.view(seat, conn.t)
        conn.last_state = json.dumps(view, sort_keys=True, ensure_ascii=False)
        return view

    async def send_subscribe_offer(self, hearing_id: int, participant_id: int) -> None:
        """The media worker wants to (re-)offer a subscribe connection: send the offer."""
        live = self.hearings.get(hearing_id)
        seat = live.seats.get(participant_id) if live is not None else None
        if live is None or seat is None:
            return
        participant = self.media_participant(live, seat)
        if participant is None:
            return
        try:
            offer = await participant.subscribe_offer()
        except (NegotiationError, ClosedError):
            return  # answered later, or gone: the worker announces again when it can offer
        if offer is None or seat.sid is None or participant.closed:
            return
        tracks = {
            slot.mid: {
                "participant_id": int(slot.track.participant_id),
                "label": PAGE_LABELS[slot.track.label],
            }
            for slot in offer.slots
            if slot.track is not None
        }
        await self.emit("subscribe_offer", {"sdp": offer.sdp, "tracks": tracks}, seat.sid)

    # -- revocations, quality, sessions ----------------------------------------------------

    async def on_revocation(self, revocation: Revocation) -> None:
        """An invitation was revoked: whoever is in through it is out, within the second."""
        live = self.hearings.get(revocation.hearing_id)
        if live is None:
            # Held by another worker: tell the page there at once, through Redis (that worker
            # also evicts the seat when it polls revocations).
            await self.sio.emit(
                "removed",
                {"reason": "revoked"},
                room=cluster.seat_room(revocation.participant_id),
                namespace=NAMESPACE,
            )
            return
        async with live.lock:
            seat = live.seats.get(revocation.participant_id)
            if seat is None:
                return
            conn = self.connections.get(seat.sid or "")
            # Staff on their own login keep their seat; a link opened after the revocation
            # is a new, valid one.
            if (
                conn is None
                or not isinstance(conn.principal, ParticipantPrincipal)
                or conn.connected_at > revocation.at
            ):
                return
            await self.evict(live, seat, "revoked")
        await self.push_states(live)

    async def _tick_loop(self) -> None:
        since = utcnow()
        last_session_check = time.monotonic()
        try:
            while True:
                await asyncio.sleep(TICK_S)
                try:
                    await self._refresh_quality()
                    if self.connections:
                        since = await self._poll_revocations(since)
                    if time.monotonic() - last_session_check >= SESSION_CHECK_S:
                        last_session_check = time.monotonic()
                        await self._check_sessions()
                    await self._forget_idle()
                except Exception:
                    logger.exception("live periodic checks failed")
        finally:
            logger.debug("live periodic checks exited")

    async def _refresh_quality(self) -> None:
        for live in list(self.hearings.values()):
            changed = False
            for seat in live.connected():
                participant = self.media_participant(live, seat)
                if participant is None:
                    continue
                mark = participant.stats().quality
                quality = None if mark == "unknown" else mark
                if quality != seat.quality:
                    seat.quality = quality
                    changed = True
            if changed:
                await self.push_states(live)

    async def _poll_revocations(self, since: dt.datetime) -> dt.datetime:
        # Revocations made by another process never reach this process's hub.
        async with self.sessionmaker() as db:
            revocations = await revocations_since(db, since)
        for revocation in revocations:
            since = max(since, revocation.at)
            await self.on_revocation(revocation)
        return since

    async def _check_sessions(self) -> None:
        async with self.sessionmaker() as db:
            for conn in list(self.connections.values()):
                if not conn.greeted or conn.closing:
                    continue
                loaded = await load_session(db, conn.session_token)
                if loaded is None or (
                    isinstance(conn.principal, ParticipantPrincipal)
                    and loaded.principal != conn.principal
                ):
                    await self._end(conn, "revoked")

    async def _end(self, conn: Connection, reason: str) -> None:
        live = self.hearings.get(conn.hearing_id)
        if live is None:
            return
        async with live.lock:
            seat = live.seats.get(conn.participant_id)
            if seat is not None and seat.sid == conn.sid:
                await self.evict(live, seat, reason)
        await self.push_states(live)

    async def _forget_idle(self) -> None:
        now = time.monotonic()
        for live in list(self.hearings.values()):
            if live.connected() or live.empty_since is None:
                continue
            if now - live.empty_since >= IDLE_FORGET_S:
                del self.hearings[live.id]
                await cluster.release(self, live.id)
                room = self.worker.get_room(str(live.id))
                if room is not None:
                    await room.close()
