"""The recording service of one process: the active session recorder of each hearing, the
disk guard, consent watching, crash recovery at start and sealing after a stop.

It lives on the app (``app[RECORDING]``), is created by :func:`signaling.live.server.setup_live`
and runs as a cleanup context registered after the live service's, so it starts after the media
worker and stops (closing every file) before the worker does. The live layer drives it
(moderator events) and is told through :attr:`RecordingService.listeners` when a recording
stops on its own (disk low, a write failure) so everyone sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from recording.diskguard import DiskSpace, free_space
from recording.flusher import RecordingFlusher
from recording.recorder import (
    SessionRecorder,
    TrackWriterFactory,
    consent_answers,
    recordable,
)
from recording.recovery import recover
from recording.session_log import SessionClock, timeline_entry
from recording.storage import LocalStore
from recording.track_recorder import TrackRecorder
from recording.vocabulary import RecordingEventKind, RecordingStatus
from server.db.base import utcnow
from server.db.recording import RecordingSession
from server.settings import Settings
from signaling.media import Room, TrackInfo

logger = logging.getLogger(__name__)

SealFunction = Callable[[AsyncSession, Settings, int], Awaitable[object]]
Listener = Callable[[int, "RecordingState"], Awaitable[None]]
# How often free space and consents are checked while recording.
GUARD_S = 2.0


class DiskLow(Exception):
    """Too little free space to start (or go on) recording."""

    def __init__(self, space: DiskSpace) -> None:
        super().__init__(f"{space.free_mb} MB free, {space.min_free_mb} MB needed")
        self.space = space


@dataclass(frozen=True)
class RecordingState:
    """What everyone in a hearing is told (the ``recording`` event)."""

    status: RecordingStatus
    since: str | None = None
    session_id: int | None = None
    reason: str | None = None

    @property
    def active(self) -> bool:
        """Recording or paused: the indicator shows."""
        return self.status in (RecordingStatus.RECORDING, RecordingStatus.PAUSED)

    def event(self) -> dict[str, Any]:
        """The ``recording`` event payload."""
        out: dict[str, Any] = {
            "active": self.status == RecordingStatus.RECORDING,
            "status": "stopped" if not self.active else str(self.status),
            "since": self.since,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def default_seal() -> SealFunction | None:
    """H3's ``recording.seal.seal_session`` when it is there."""
    try:
        module = importlib.import_module("recording.seal")
    except ImportError:
        return None
    seal: SealFunction | None = getattr(module, "seal_session", None)
    return seal


def default_writer_factory(flusher: RecordingFlusher | None = None) -> TrackWriterFactory:
    """Track recorders (:class:`TrackRecorder`), all flushed by ``flusher``."""

    def make(
        info: TrackInfo,
        origin: float,
        spool: LocalStore,
        key_for: Callable[[int], str],
        events: Any,
        request_keyframe: Callable[[], None],
        segment_seconds: float,
    ) -> TrackRecorder:
        return TrackRecorder(
            info,
            origin,
            spool,
            key_for,
            events,
            request_keyframe=request_keyframe,
            segment_seconds=segment_seconds,
            flusher=flusher,
        )

    return make


class RecordingService:
    """Recordings of this process's hearings."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: Callable[[], AsyncSession],
        *,
        seal: SealFunction | None = None,
        writer_factory: TrackWriterFactory | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.spool = LocalStore(settings.data_dir / "recordings")
        self.min_free_mb = settings.recording_min_free_mb
        self.autostart = settings.recording_autostart
        self.segment_seconds = settings.recording_segment_seconds
        self.seal = seal if seal is not None else default_seal()
        # Makes track recorders (default: recording.track_recorder.TrackRecorder).
        self.factory = writer_factory
        # One flusher writes every track of this worker: one thread hop per interval.
        self.flusher = RecordingFlusher()
        self.recorders: dict[int, SessionRecorder] = {}
        self.states: dict[int, RecordingState] = {}
        self.listeners: list[Listener] = []
        self.recovered: list[int] = []
        self._locks: dict[int, asyncio.Lock] = {}
        self._guard: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ------------------------------------------------------------------------

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: recover, guard, and stop every recording with the app."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Recover what a killed process of this worker left open, start the guard."""
        try:
            self.recovered = await recover(self.sessionmaker, self.settings, self.spool, self.seal)
        except Exception:
            logger.exception("recording recovery failed")
        self._guard = asyncio.create_task(self._guard_loop(), name="recording guard")

    async def stop(self) -> None:
        """Stop (and seal) every recording, then the guard."""
        for hearing_id in list(self.recorders):
            try:
                await self.finish(hearing_id)
            except Exception:
                logger.exception("stopping the recording of hearing %s failed", hearing_id)
        if self._guard is not None:
            self._guard.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._guard
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.flusher.stop()

    def _lock(self, hearing_id: int) -> asyncio.Lock:
        return self._locks.setdefault(hearing_id, asyncio.Lock())

    def writer_factory(self) -> TrackWriterFactory:
        """The track recorder factory (resolved on first use)."""
        if self.factory is None:
            self.factory = default_writer_factory(self.flusher)
        return self.factory

    # -- what the live layer asks ----------------------------------------------------------

    def state(self, hearing_id: int) -> RecordingState:
        """The hearing's recording state now."""
        return self.states.get(hearing_id, RecordingState(RecordingStatus.STOPPED))

    def recorder(self, hearing_id: int) -> SessionRecorder | None:
        """The hearing's active recorder, if recording or paused."""
        return self.recorders.get(hearing_id)

    def disk(self) -> DiskSpace:
        """Free space where recordings are spooled."""
        return free_space(self.spool.root, self.min_free_mb)

    async def begin(
        self, hearing_id: int, case_id: int, room: Room, started_by: int | None
    ) -> RecordingState:
        """Start a new recording session of the hearing (:class:`DiskLow` without room).
        A hearing whose earlier session was interrupted gets a new session."""
        async with self._lock(hearing_id):
            if hearing_id in self.recorders:
                return self.state(hearing_id)
            space = self.disk()
            if not space.enough:
                raise DiskLow(space)
            factory = self.writer_factory()
            self.spool.root.mkdir(parents=True, exist_ok=True)
            started = utcnow()
            clock = SessionClock(started)
            async with self.sessionmaker() as db:
                session = RecordingSession(
                    hearing_id=hearing_id,
                    case_id=case_id,
                    status=RecordingStatus.RECORDING,
                    started_at=started,
                    started_by_participant_id=started_by,
                    worker=self.settings.worker_id[:64],
                    chain_head="",
                    chain_length=0,
                )
                db.add(session)
                await db.flush()
                allowed = await recordable(db, hearing_id)
                db.add(
                    timeline_entry(
                        session.id,
                        clock,
                        RecordingEventKind.START,
                        participant_id=started_by,
                        at=started,
                        offset_ms=0,
                    )
                )
                for participant_id, consent in (await consent_answers(db, list(allowed))).items():
                    db.add(
                        timeline_entry(
                            session.id,
                            clock,
                            RecordingEventKind.CONSENT,
                            participant_id=participant_id,
                            detail=_consent_detail(consent.given, consent.notice_version),
                            at=started,
                            offset_ms=0,
                        )
                    )
                await db.commit()
                session_id = session.id
            recorder = SessionRecorder(
                session_id=session_id,
                hearing_id=hearing_id,
                clock=clock,
                sessionmaker=self.sessionmaker,
                spool=self.spool,
                writer_factory=factory,
                allowed=allowed,
                segment_seconds=self.segment_seconds,
                on_failure=self._failed,
            )
            self.recorders[hearing_id] = recorder
            recorder.start(room)
            state = RecordingState(RecordingStatus.RECORDING, started.isoformat(), session_id)
            self.states[hearing_id] = state
            logger.info("recording hearing %s: session %s", hearing_id, session_id)
            return state

    async def pause(self, hearing_id: int) -> RecordingState:
        """Pause the hearing's recording (nothing is written until resumed)."""
        async with self._lock(hearing_id):
            recorder = self.recorders.get(hearing_id)
            if recorder is None or recorder.status != RecordingStatus.RECORDING:
                return self.state(hearing_id)
            recorder.pause()
            state = RecordingState(
                RecordingStatus.PAUSED, utcnow().isoformat(), recorder.session_id
            )
            self.states[hearing_id] = state
            return state

    async def resume(self, hearing_id: int) -> RecordingState:
        """Resume a paused recording (:class:`DiskLow` without room)."""
        async with self._lock(hearing_id):
            recorder = self.recorders.get(hearing_id)
            if recorder is None or recorder.status != RecordingStatus.PAUSED:
                return self.state(hearing_id)
            space = self.disk()
            if not space.enough:
                raise DiskLow(space)
            recorder.resume()
            state = RecordingState(
                RecordingStatus.RECORDING, utcnow().isoformat(), recorder.session_id
            )
            self.states[hearing_id] = state
            return state

    async def finish(
        self, hearing_id: int, reason: str | None = None, detail: dict[str, Any] | None = None
    ) -> RecordingState:
        """Stop the hearing's recording: close every file, mark the session STOPPED, seal it.
        With a ``reason`` (``disk_low``, ``failed``) the timeline says why."""
        async with self._lock(hearing_id):
            recorder = self.recorders.pop(hearing_id, None)
            if recorder is None:
                return self.state(hearing_id)
            if reason == "disk_low":
                recorder.note(RecordingEventKind.DISK_LOW, detail=detail)
            await recorder.stop()
            await self._seal(recorder.session_id)
            state = RecordingState(
                RecordingStatus.STOPPED, utcnow().isoformat(), recorder.session_id, reason
            )
            self.states[hearing_id] = state
            logger.info("recording of hearing %s stopped (%s)", hearing_id, reason or "asked")
            return state

    async def _seal(self, session_id: int) -> None:
        """Seal a stopped session (H3's :func:`recording.seal.seal_session`), if available."""
        if self.seal is None:
            logger.warning("no sealing function: session %s left unsealed", session_id)
            return
        try:
            async with self.sessionmaker() as db:
                await self.seal(db, self.settings, session_id)
                await db.commit()
        except Exception:
            logger.exception("sealing recording session %s failed", session_id)

    # -- timeline hooks (no-ops unless recording) ---------------------------------------------

    def note(
        self,
        hearing_id: int,
        kind: RecordingEventKind,
        participant_id: int | None = None,
        sub_room: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A timeline entry for the hearing's session, if it is recording or paused."""
        recorder = self.recorders.get(hearing_id)
        if recorder is not None:
            recorder.note(kind, participant_id, sub_room, detail)

    def room_opened(self, hearing_id: int, room: Room, sub_room: str | None = None) -> None:
        """A caucus room opened (``sub_room``) or the media room was made anew: record it."""
        recorder = self.recorders.get(hearing_id)
        if recorder is None:
            return
        if sub_room is None:
            recorder.attach_room(room)
        else:
            recorder.attach(room, sub_room)
            recorder.note(RecordingEventKind.CAUCUS_OPEN, sub_room=sub_room)

    def room_closed(self, hearing_id: int, sub_room: str) -> None:
        """A caucus room closed."""
        recorder = self.recorders.get(hearing_id)
        if recorder is not None:
            recorder.detached(sub_room)
            recorder.note(RecordingEventKind.CAUCUS_CLOSE, sub_room=sub_room)

    # -- stopping on its own ---------------------------------------------------------------

    def _failed(self, recorder: SessionRecorder, error: BaseException) -> None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            self._spawn(self._stop_visibly(recorder.hearing_id, "disk_low", {}), "disk full")

    async def _stop_visibly(self, hearing_id: int, reason: str, detail: dict[str, Any]) -> None:
        if hearing_id not in self.recorders:
            return
        state = await self.finish(hearing_id, reason, detail)
        for listener in list(self.listeners):
            try:
                await listener(hearing_id, state)
            except Exception:
                logger.exception("recording listener failed")

    async def _guard_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(GUARD_S)
                try:
                    await self.check()
                except Exception:
                    logger.exception("recording guard failed")
        finally:
            logger.debug("recording guard exited")

    async def check(self) -> None:
        """One round of the guard: free space, then consents of every active recording."""
        if not self.recorders:
            return
        space = self.disk()
        if not space.enough:
            detail = {"free_mb": space.free_mb, "min_free_mb": space.min_free_mb}
            for hearing_id in list(self.recorders):
                logger.warning("disk low (%s): stopping recording of %s", detail, hearing_id)
                await self._stop_visibly(hearing_id, "disk_low", detail)
            return
        for hearing_id, recorder in list(self.recorders.items()):
            await self.refresh_consents(hearing_id, recorder)

    async def refresh_consents(self, hearing_id: int, recorder: SessionRecorder) -> None:
        """Apply consents given or withdrawn since the last look (any process may take them)."""
        async with self.sessionmaker() as db:
            allowed = await recordable(db, hearing_id)
            changed = [p for p, ok in allowed.items() if recorder.allowed.get(p) != ok]
            answers = await consent_answers(db, changed) if changed else {}
        for participant_id in changed:
            answer = answers.get(participant_id)
            recorder.note(
                RecordingEventKind.CONSENT,
                participant_id,
                detail=_consent_detail(
                    allowed[participant_id], answer.notice_version if answer else None
                ),
            )
            recorder.set_allowed(participant_id, allowed[participant_id])

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run(), name=f"recording: {what}")
        self._tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.error("recording task %r failed", what, exc_info=task.exception())

        task.add_done_callback(done)


def _consent_detail(given: bool, notice_version: str | None) -> dict[str, Any]:
    return {"given": given, "notice_version": notice_version}
