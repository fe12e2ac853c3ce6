"""The recorder of one hearing's recording session: a system participant of its media room.

A :class:`SessionRecorder` attaches one sink to the main room and one to every open caucus
room (caucus rooms are recorded apart: each track row carries its ``sub_room``). It accepts a
track only from someone who may be recorded (a party's newest consent given and not
``do_not_record``; staff are recorded in their office unless marked ``do_not_record``), hands
its packets to a track recorder (:mod:`recording.track_recorder`, files of ~10 s on the
session clock) and keeps the database in step: track rows, segment rows OPEN → CLOSED with
their SHA-256 linked into the session's hash chain in closing order, and the timeline.

Every database write of a session goes through one writer task, in order: a segment is
inserted before it is closed, and chain links are made one at a time under a row lock on the
session (``SELECT … FOR UPDATE`` on PostgreSQL), so the chain stays consistent even if two
processes were ever to close segments of one session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from recording.chain import GENESIS, ChainEntry, link
from recording.session_log import SessionClock, timeline_entry
from recording.storage import LocalStore, segment_key
from recording.vocabulary import (
    RecordingEventKind,
    RecordingStatus,
    SegmentStatus,
    TrackKind,
    TrackLabel,
)
from server.db.base import utcnow
from server.db.hearing import HearingParticipant, RecordingConsent
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from server.hearings.vocabulary import ParticipantKind
from signaling.media import MediaPacket, Room, SinkHandle, TrackInfo
from signaling.media.sink import PacketTarget

logger = logging.getLogger(__name__)

Job = Callable[[AsyncSession], Awaitable[None]]
# Packets kept for a track while its row is being created (a few hundred ms at most).
PENDING_PACKETS = 2000
# Codec and container of a track, by the publisher's MIME type.
CONTAINERS = {
    "video/vp8": ("vp8", "webm"),
    "audio/opus": ("opus", "webm"),
    "video/h264": ("h264", "mp4"),
}


class TrackWriter(Protocol):
    """What a session needs of a track recorder (``recording.track_recorder.TrackRecorder``)."""

    def on_packet(self, packet: MediaPacket) -> None: ...

    def put(
        self, sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float
    ) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class SegmentEvents(Protocol):
    """What a track recorder reports (implemented here, per track)."""

    def segment_opened(self, index: int, key: str, start_ms: int) -> None: ...

    def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> None: ...

    def failed(self, error: BaseException) -> None: ...


TrackWriterFactory = Callable[
    [TrackInfo, float, LocalStore, Callable[[int], str], SegmentEvents, Callable[[], None], float],
    TrackWriter,
]
"""(info, session origin epoch s, spool, key_for, events, request_keyframe, segment s)."""


@dataclass
class RecordedTrack:
    """One accepted track of one sub-room, from ``track_added`` to ``track_removed``."""

    info: TrackInfo
    sub_room: str
    participant_id: int
    codec: str
    container: str
    row_id: int | None = None
    writer: TrackWriter | None = None
    pending: list[MediaPacket] = field(default_factory=list)
    ended: bool = False
    error: str | None = None


def _ignore(sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float) -> None:
    """The packet target of a track that is not recorded."""


class _TrackEvents:
    """A track recorder's reports, turned into ordered database jobs (safe from any thread)."""

    def __init__(self, recorder: SessionRecorder, track: RecordedTrack) -> None:
        self._recorder = recorder
        self._track = track

    def segment_opened(self, index: int, key: str, start_ms: int) -> None:
        self._recorder.submit(self._recorder.segment_opened_job(self._track, index, key, start_ms))

    def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> None:
        self._recorder.submit(
            self._recorder.segment_closed_job(
                self._track, index, key, start_ms, end_ms, size, sha256
            )
        )

    def failed(self, error: BaseException) -> None:
        self._recorder.track_failed(self._track, error)


class _RoomSink:
    """The recorder's sink in one sub-room (a :class:`signaling.media.MediaSink`)."""

    def __init__(self, recorder: SessionRecorder, sub_room: str) -> None:
        self.recorder = recorder
        self.sub_room = sub_room
        self.handle: SinkHandle | None = None

    def track_added(self, track: TrackInfo) -> bool:
        return self.recorder.track_added(self, track)

    def track_removed(self, track: TrackInfo) -> None:
        self.recorder.track_removed(self.sub_room, track)

    def on_packet(self, track: TrackInfo, packet: MediaPacket) -> None:
        self.recorder.on_packet(self.sub_room, track, packet)

    def packet_target(self, track: TrackInfo) -> PacketTarget:
        return self.recorder.packet_target(self.sub_room, track)


async def recordable(db: AsyncSession, hearing_id: int) -> dict[int, bool]:
    """Who of a hearing may be recorded now: a party (or guest) whose newest consent is given,
    staff in their office; never anyone marked ``do_not_record``."""
    seats = (
        await db.scalars(
            select(HearingParticipant).where(HearingParticipant.hearing_id == hearing_id)
        )
    ).all()
    newest: dict[int, bool] = {}
    for consent in await db.scalars(
        select(RecordingConsent)
        .where(RecordingConsent.participant_id.in_([s.id for s in seats]))
        .order_by(RecordingConsent.id.desc())
    ):
        newest.setdefault(consent.participant_id, consent.given)
    out = {}
    for seat in seats:
        by_office = seat.kind == ParticipantKind.STAFF and seat.id not in newest
        out[seat.id] = not seat.do_not_record and (by_office or newest.get(seat.id, False))
    return out


async def consent_answers(
    db: AsyncSession, participant_ids: list[int]
) -> dict[int, RecordingConsent]:
    """Each participant's newest consent answer."""
    out: dict[int, RecordingConsent] = {}
    if not participant_ids:
        return out
    for consent in await db.scalars(
        select(RecordingConsent)
        .where(RecordingConsent.participant_id.in_(participant_ids))
        .order_by(RecordingConsent.id.desc())
    ):
        out.setdefault(consent.participant_id, consent)
    return out


class SessionRecorder:
    """Records one hearing's session (driven by :class:`recording.service.RecordingService`)."""

    def __init__(
        self,
        *,
        session_id: int,
        hearing_id: int,
        clock: SessionClock,
        sessionmaker: Callable[[], AsyncSession],
        spool: LocalStore,
        writer_factory: TrackWriterFactory,
        allowed: dict[int, bool],
        segment_seconds: float,
        on_failure: Callable[[SessionRecorder, BaseException], None],
    ) -> None:
        self.session_id = session_id
        self.hearing_id = hearing_id
        self.clock = clock
        self.status = RecordingStatus.RECORDING
        self.allowed = dict(allowed)
        self._sessionmaker = sessionmaker
        self._spool = spool
        self._writer_factory = writer_factory
        self._segment_seconds = segment_seconds
        self._on_failure = on_failure
        self._sinks: dict[str, _RoomSink] = {}
        self._tracks: dict[tuple[str, str], RecordedTrack] = {}
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.failures: list[BaseException] = []
        self.paused_since: float | None = None

    # -- life cycle ------------------------------------------------------------------------

    def figures(self) -> tuple[int, int, int]:
        """Bytes written by its live tracks, packets waiting to be written, and database
        writes waiting (for ``/metrics``)."""
        written = backlog = 0
        for track in self._tracks.values():
            stats = getattr(track.writer, "stats", None)
            written += int(getattr(stats, "bytes_written", 0))
            backlog += int(getattr(track.writer, "backlog", 0))
        return written, backlog, self._jobs.qsize()

    def start(self, room: Room) -> None:
        """Start writing and attach to every open sub-room of ``room``."""
        self._writer_task = asyncio.create_task(
            self._write_loop(), name=f"recording {self.session_id}: database"
        )
        self.attach_room(room)

    def attach_room(self, room: Room) -> None:
        """Attach to every open sub-room (again, for a media room created anew)."""
        for sub_room in room.sub_rooms:
            self.attach(room, sub_room)

    def attach(self, room: Room, sub_room: str) -> None:
        """Record ``sub_room`` too (a caucus room opened while recording)."""
        old = self._sinks.get(sub_room)
        if old is not None and old.handle is not None and old.handle.room is room:
            return
        sink = _RoomSink(self, sub_room)
        self._sinks[sub_room] = sink
        sink.handle = room.attach_sink(sub_room, sink)

    def detached(self, sub_room: str) -> None:
        """A caucus room closed (the media room already released the sink)."""
        self._sinks.pop(sub_room, None)

    def pause(self) -> None:
        """Nothing is written until :meth:`resume`; the timeline shows the pause."""
        self.status = RecordingStatus.PAUSED
        self.paused_since = self._loop.time()
        for track in self._tracks.values():
            if track.writer is not None:
                track.writer.pause()
        self.note(RecordingEventKind.PAUSE)
        self.submit(self._status_job(RecordingStatus.PAUSED))

    def resume(self) -> None:
        """Write again (video resumes at a keyframe: ask every publisher for one)."""
        self.status = RecordingStatus.RECORDING
        self.paused_since = None
        for track in self._tracks.values():
            if track.writer is not None:
                track.writer.resume()
        for sink in self._sinks.values():
            if sink.handle is not None:
                sink.handle.request_keyframes()
        self.note(RecordingEventKind.RESUME)
        self.submit(self._status_job(RecordingStatus.RECORDING))

    async def stop(self, status: RecordingStatus = RecordingStatus.STOPPED) -> None:
        """Detach, close every track (their last segments join the chain), mark the session
        ``status`` with its end time. Sealing is the service's next step."""
        for sink in list(self._sinks.values()):
            if sink.handle is not None:
                sink.handle.detach()  # track_removed for each track: their writers stop
        self._sinks.clear()
        for track in list(self._tracks.values()):
            self._end_track(track)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self.status = status
        self.note(RecordingEventKind.STOP)
        self.submit(self._status_job(status, ended=True))
        self._jobs.put_nowait(None)
        if self._writer_task is not None:
            await self._writer_task

    async def abort(self) -> None:
        """Cancel everything without further writes (app stopping after a failure)."""
        for task in list(self._tasks):
            task.cancel()
        if self._writer_task is not None:
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task

    # -- timeline --------------------------------------------------------------------------

    def note(
        self,
        kind: RecordingEventKind,
        participant_id: int | None = None,
        sub_room: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Put an entry on the timeline now (written in order with everything else)."""
        row = timeline_entry(
            self.session_id,
            self.clock,
            kind,
            participant_id=participant_id,
            sub_room=sub_room,
            detail=detail,
        )

        async def job(db: AsyncSession) -> None:
            db.add(row)

        self.submit(job)

    def set_allowed(self, participant_id: int, allowed: bool) -> None:
        """A consent given or withdrawn: a withdrawal ends that participant's tracks now."""
        self.allowed[participant_id] = allowed
        if allowed:
            return
        for track in list(self._tracks.values()):
            if track.participant_id == participant_id:
                self._end_track(track)

    # -- the sinks' side (on the forwarding path: quick, no awaits) --------------------------

    def track_added(self, sink: _RoomSink, info: TrackInfo) -> bool:
        """Accept a track of someone who may be recorded; its row is created in order."""
        try:
            participant_id = int(info.participant_id)
        except ValueError:
            return False
        if not self.allowed.get(participant_id, False):
            return False
        codec, container = CONTAINERS.get(info.mime_type.lower(), ("", ""))
        if not codec:
            logger.warning("not recording %s: codec %s", info.track_id, info.mime_type)
            return False
        track = RecordedTrack(info, sink.sub_room, participant_id, codec, container)
        previous = self._tracks.get((sink.sub_room, info.track_id))
        if previous is not None:
            self._end_track(previous)
        self._tracks[(sink.sub_room, info.track_id)] = track
        self.submit(self._track_job(track, sink))
        return True

    def track_removed(self, sub_room: str, info: TrackInfo) -> None:
        """A track went away (left, moved, unpublished): close its files."""
        track = self._tracks.get((sub_room, info.track_id))
        if track is not None:
            self._end_track(track)

    def on_packet(self, sub_room: str, info: TrackInfo, packet: MediaPacket) -> None:
        """One packet of an accepted track (the forwarding path uses :meth:`packet_target`)."""
        self.packet_target(sub_room, info)(*packet)

    def packet_target(self, sub_room: str, info: TrackInfo) -> PacketTarget:
        """Where the forwarding path puts the packets of an accepted track: its recorder's
        queue, or, while the track's row is being made, a list kept for it."""
        track = self._tracks.get((sub_room, info.track_id))
        if track is None:
            return _ignore

        def put(sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float) -> None:
            if track.ended:
                return
            writer = track.writer
            if writer is not None:
                writer.put(sequence, timestamp, marker, payload, arrival)
            elif self.status != RecordingStatus.PAUSED and len(track.pending) < PENDING_PACKETS:
                # Never kept while paused: a writer made after the resume would otherwise
                # write the paused stretch.
                track.pending.append(
                    MediaPacket(sequence, timestamp, bool(marker), payload, arrival)
                )

        return put

    def track_failed(self, track: RecordedTrack, error: BaseException) -> None:
        """A track recorder could not write (disk full …): report it (from any thread)."""
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.track_failed, track, error)
            return
        logger.error("recording of %s failed: %s", track.info.track_id, error)
        self.failures.append(error)
        # The track ends where its files end, and the timeline says why.
        track.error = f"{type(error).__name__}: {error}"[:200]
        self._end_track(track)
        self._on_failure(self, error)

    # -- tracks ----------------------------------------------------------------------------

    def _end_track(self, track: RecordedTrack) -> None:
        if track.ended:
            return
        track.ended = True
        if self._tracks.get((track.sub_room, track.info.track_id)) is track:
            del self._tracks[(track.sub_room, track.info.track_id)]
        self._spawn(self._finish_track(track), f"end {track.info.track_id}")

    async def _finish_track(self, track: RecordedTrack) -> None:
        end_ms = self.clock.offset_ms()
        writer = track.writer
        if writer is not None:
            await writer.stop()

        async def job(db: AsyncSession) -> None:
            if track.row_id is None:
                return
            await db.execute(
                update(RecordingTrack)
                .where(RecordingTrack.id == track.row_id)
                .values(end_ms=end_ms)
            )
            db.add(
                timeline_entry(
                    self.session_id,
                    self.clock,
                    RecordingEventKind.TRACK_END,
                    participant_id=track.participant_id,
                    sub_room=track.sub_room,
                    detail={"track_id": track.row_id, "label": track.info.label}
                    | ({"error": track.error} if track.error else {}),
                )
            )

        self.submit(job)

    def _track_job(self, track: RecordedTrack, sink: _RoomSink) -> Job:
        now = utcnow()

        async def job(db: AsyncSession) -> None:
            row = RecordingTrack(
                session_id=self.session_id,
                participant_id=track.participant_id,
                sub_room=track.sub_room,
                kind=TrackKind(track.info.kind),
                label=TrackLabel(track.info.label),
                codec=track.codec,
                container=track.container,
                first_frame_at=now,
                start_ms=self.clock.offset_ms(now),
            )
            db.add(row)
            await db.flush()
            track.row_id = row.id
            db.add(
                timeline_entry(
                    self.session_id,
                    self.clock,
                    RecordingEventKind.TRACK_START,
                    participant_id=track.participant_id,
                    sub_room=track.sub_room,
                    detail={"track_id": row.id, "label": track.info.label, "codec": track.codec},
                    at=now,
                )
            )
            if not track.ended:
                await self._start_writer(track, sink)

        return job

    async def _start_writer(self, track: RecordedTrack, sink: _RoomSink) -> None:
        assert track.row_id is not None
        track_id, container = track.row_id, track.container

        def key_for(index: int) -> str:
            return segment_key(self.session_id, track_id, index, container)

        def request_keyframe() -> None:
            if sink.handle is not None:
                sink.handle.request_keyframes()

        writer = self._writer_factory(
            track.info,
            self.clock.epoch,
            self._spool,
            key_for,
            _TrackEvents(self, track),
            request_keyframe,
            self._segment_seconds,
        )
        await writer.start()
        if track.ended:  # removed while starting: _finish_track saw no writer
            await writer.stop()
            return
        if self.status == RecordingStatus.PAUSED:
            writer.pause()
        pending, track.pending = track.pending, []
        track.writer = writer
        for packet in pending:
            writer.on_packet(packet)

    # -- segments and the chain --------------------------------------------------------------

    def segment_opened_job(self, track: RecordedTrack, index: int, key: str, start_ms: int) -> Job:
        """Insert the OPEN segment row."""

        async def job(db: AsyncSession) -> None:
            assert track.row_id is not None
            db.add(
                RecordingSegment(
                    track_id=track.row_id,
                    session_id=self.session_id,
                    index=index,
                    status=SegmentStatus.OPEN,
                    storage_key=key,
                    start_ms=start_ms,
                )
            )

        return job

    def segment_closed_job(
        self,
        track: RecordedTrack,
        index: int,
        key: str,
        start_ms: int,
        end_ms: int,
        size: int,
        sha256: str,
    ) -> Job:
        """Close the segment row and link it into the session's chain."""

        async def job(db: AsyncSession) -> None:
            assert track.row_id is not None
            session = await lock_chain(db, self.session_id)
            segment = await db.scalar(
                select(RecordingSegment).where(
                    RecordingSegment.track_id == track.row_id, RecordingSegment.index == index
                )
            )
            if segment is None:
                segment = RecordingSegment(
                    track_id=track.row_id,
                    session_id=self.session_id,
                    index=index,
                    storage_key=key,
                    start_ms=start_ms,
                    status=SegmentStatus.OPEN,
                )
                db.add(segment)
            segment.status = SegmentStatus.CLOSED
            segment.start_ms = start_ms
            segment.end_ms = end_ms
            segment.bytes = size
            segment.sha256 = sha256
            segment.closed_at = utcnow()
            await link_segment(db, session, segment, track.row_id)

        return job

    def _status_job(self, status: RecordingStatus, *, ended: bool = False) -> Job:
        at = utcnow()

        async def job(db: AsyncSession) -> None:
            values: dict[str, Any] = {"status": status}
            if ended:
                values["ended_at"] = at
            await db.execute(
                update(RecordingSession)
                .where(RecordingSession.id == self.session_id)
                .values(**values)
            )

        return job

    # -- the writer task -------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Queue a database job (callable from any thread)."""
        if threading.get_ident() == self._loop_thread:
            self._jobs.put_nowait(job)
        else:
            self._loop.call_soon_threadsafe(self._jobs.put_nowait, job)

    async def flush(self) -> None:
        """Wait until every job queued so far is written."""
        done = asyncio.Event()

        async def marker(db: AsyncSession) -> None:
            done.set()

        self.submit(marker)
        await done.wait()

    async def _write_loop(self) -> None:
        stopping = False
        try:
            while not stopping:
                jobs = [await self._jobs.get()]
                while not self._jobs.empty():
                    jobs.append(self._jobs.get_nowait())
                if None in jobs:
                    stopping = True
                async with self._sessionmaker() as db:
                    for job in jobs:
                        if job is None:
                            continue
                        # One transaction per job: a failed write loses nothing else.
                        try:
                            await job(db)
                            await db.commit()
                        except Exception:
                            logger.exception("recording %s: a write failed", self.session_id)
                            await db.rollback()
        finally:
            logger.debug("recording %s: writer exited", self.session_id)

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run(), name=f"recording {self.session_id}: {what}")
        self._tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.error("recording task %r failed", what, exc_info=task.exception())

        task.add_done_callback(done)


async def lock_chain(db: AsyncSession, session_id: int) -> RecordingSession:
    """The session row, locked until commit (``FOR UPDATE``; SQLite serialises writers).

    Take it *before* inserting or flushing the segment: an inserted segment holds a key-share
    lock on the session row (its foreign key), and two closes each holding one while asking
    for the update lock deadlock on PostgreSQL.
    """
    session = await db.scalar(
        select(RecordingSession)
        .where(RecordingSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert session is not None
    return session


async def link_segment(
    db: AsyncSession, session: RecordingSession, segment: RecordingSegment, track_id: int
) -> None:
    """Append a closed (or recovered) segment to the chain of ``session``, which the caller
    locked with :func:`lock_chain` in this transaction."""
    session_id = session.id
    entry = ChainEntry(
        session_id=session_id,
        chain_index=session.chain_length,
        track_id=track_id,
        segment_index=segment.index,
        start_ms=segment.start_ms,
        end_ms=segment.end_ms if segment.end_ms is not None else segment.start_ms,
        sha256=segment.sha256 or "",
    )
    segment.chain_index = entry.chain_index
    segment.chain_hash = link(session.chain_head or GENESIS, entry)
    session.chain_head = segment.chain_hash
    session.chain_length = entry.chain_index + 1
    await db.flush()
