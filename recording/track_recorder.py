"""Records one track: forwarded packets → frames → session-clock segment files.

:meth:`TrackRecorder.on_packet` runs on the forwarding path and only appends to a queue.
Every ``flush_interval`` seconds a :class:`recording.flusher.RecordingFlusher` (one per media
worker, shared by all its recorders) takes the queue: for VP8 and Opus, frames are assembled
(:mod:`recording.depacketize`) and framed as WebM (:mod:`recording.webm_writer`) on the event
loop, and only the file work (write, hash, close) goes to a thread, where it runs without the
GIL; for H264 the whole batch is muxed by PyAV in that thread
(:mod:`recording.segment_writer`). The loop never waits on the disk. What happened (segment
opened/closed, failure) is reported back on the loop through :class:`TrackRecorderEvents`.

Session clock: the first frame's arrival (``time.monotonic()``, converted to wall time with
an offset captured once) minus ``session_origin`` gives its session time; later frames advance
by RTP timestamp / clock rate. If the two clocks drift apart by more than a second (the
publisher restarted its timestamps), the mapping is anchored again on arrival.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signaling.media.model import MediaPacket, TrackInfo

from .depacketize import Depacketizer, PacketRow, depacketizer_for
from .flusher import RecordingFlusher
from .packet_queue import PacketQueue, QueuedBatch
from .segment_writer import Container, SegmentWriter, container_for
from .storage import LocalStore
from .webm_writer import WebmSegmentWriter

logger = logging.getLogger(__name__)

REANCHOR_MS = 1000
"""Distance between RTP-derived and arrival-derived session time that re-anchors the clock."""
KEYFRAME_RETRY = 1.0
"""Seconds between repeated keyframe requests while one is awaited."""
MAX_QUEUE = 20_000
"""Packets queued for the writer before new ones are dropped (a stuck disk)."""


class TrackRecorderEvents(Protocol):
    """What the owner of a recorder hears about; each method may be sync or async.

    Calls come on the event loop, in order, one at a time per recorder.
    """

    def segment_opened(self, index: int, key: str, start_ms: int) -> Awaitable[None] | None:
        """A segment file was created under ``key``; its first frame is at ``start_ms``."""
        ...

    def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> Awaitable[None] | None:
        """The segment is complete: ``size`` bytes with SHA-256 ``sha256`` (hex)."""
        ...

    def failed(self, error: BaseException) -> Awaitable[None] | None:
        """Writing failed (disk full, ...): the recorder has stopped writing."""
        ...


class _Control(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


@dataclass(frozen=True)
class _Opened:
    index: int
    key: str
    start_ms: int


@dataclass(frozen=True)
class _Closed:
    index: int
    key: str
    start_ms: int
    end_ms: int
    size: int
    sha256: str


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Closing:
    """A segment cut on the loop whose file is closed (and its hash taken) in the thread."""

    writer: TrackSegmentWriter
    index: int
    key: str
    start_ms: int
    end_ms: int


_Notice = _Opened | _Closed | _Failed | _Closing


class TrackSegmentWriter(Protocol):
    """One segment file being written (:class:`WebmSegmentWriter` or :class:`SegmentWriter`)."""

    start_ms: int | None
    end_ms: int | None

    def write(self, data: bytes, pts_ms: int, keyframe: bool, duration_ms: int = 0) -> None:
        """Add one frame at ``pts_ms`` on the session clock."""
        ...

    def flush(self) -> None:
        """Put what was written so far in the file (once per batch)."""
        ...

    def close(self) -> tuple[int, str]:
        """Finish the file: its size and SHA-256 (hex)."""
        ...

    def abort(self) -> None:
        """Close after a failure, ignoring errors."""
        ...


def defers_io(writer_factory: WriterFactory, mime_type: str) -> bool:
    """Whether the writers ``writer_factory`` makes for ``mime_type`` only frame bytes in
    :meth:`~TrackSegmentWriter.write` and leave the file to ``flush`` and ``close``."""
    return writer_factory is segment_writer_for and container_for(mime_type) == "webm"


WriterFactory = Callable[[Path, str], TrackSegmentWriter]


def segment_writer_for(path: Path, mime_type: str) -> TrackSegmentWriter:
    """The writer of a segment: WebM written directly for VP8 and Opus (a few bytes of
    framing per frame), PyAV's fragmented-MP4 muxer for H264."""
    if container_for(mime_type) == "webm":
        return WebmSegmentWriter(path, mime_type)
    return SegmentWriter(path, mime_type)


@dataclass
class RecorderStats:
    """Counters of one recorder."""

    packets: int = 0
    packets_dropped: int = 0
    frames: int = 0
    frames_dropped: int = 0
    bytes_written: int = 0
    segments: int = 0
    keyframe_requests: int = 0


class TrackRecorder:
    """Records one track into segment files in the local spool.

    ``key_for(index)`` names segment ``index`` (see :func:`recording.storage.segment_key`;
    the extension must match :attr:`container`). ``request_keyframe`` asks the publisher for
    a keyframe (wire it to ``SinkHandle.request_keyframes``): before a video cut, after a
    loss, after :meth:`resume`. Video segments are cut at the first keyframe at or after
    ``segment_seconds - keyframe_lead`` (a keyframe is requested at that point and again
    every second until one comes: without one the segment simply grows); audio segments at
    ``segment_seconds`` exactly, on a frame boundary.
    """

    def __init__(
        self,
        info: TrackInfo,
        session_origin: float,
        spool: LocalStore,
        key_for: Callable[[int], str],
        events: TrackRecorderEvents,
        *,
        request_keyframe: Callable[[], None] | None = None,
        segment_seconds: float = 10.0,
        keyframe_lead: float = 0.5,
        first_index: int = 0,
        flush_interval: float = 0.5,
        writer_factory: WriterFactory = segment_writer_for,
        offload: bool = True,
        flusher: RecordingFlusher | None = None,
    ) -> None:
        self.info = info
        self.container: Container = container_for(info.mime_type)
        self.session_origin = session_origin
        self.stats = RecorderStats()
        self._spool = spool
        self._key_for = key_for
        self._events = events
        self._request_keyframe = request_keyframe
        self._video = info.kind == "video"
        segment_ms = int(segment_seconds * 1000)
        # Video: a keyframe is asked for, and the first one taken, from here on.
        self._cut_ms = segment_ms - int(keyframe_lead * 1000) if self._video else segment_ms
        self._writer_factory = writer_factory
        self._offload = offload
        # WebM: frames are assembled and framed on the loop (cheap, and the packets are
        # still there), and only the file work goes to a thread, where it runs without the
        # GIL. Otherwise (PyAV's MP4 muxer writes as it muxes) the whole batch goes there.
        self._split = offload and defers_io(writer_factory, info.mime_type)
        # One offset for the recorder's lifetime: monotonic arrival → wall clock.
        self._wall_offset = time.time() - time.monotonic()
        self._ms_per_tick = 1000 / info.clock_rate
        self._inbox: PacketQueue[_Control] = PacketQueue()
        self._owns_flusher = flusher is None
        self._flusher = flusher or RecordingFlusher(flush_interval, offload=offload)
        self._stopped = asyncio.Event()
        self._started = False
        # Packets are queued from construction on, so none is lost before start() runs.
        self._accepting = True
        self._paused = False
        self._failed = False
        # Writing state: touched by one thread at a time (the loop, or the writer thread
        # while the loop awaits it).
        self._depacketizer: Depacketizer = depacketizer_for(info.mime_type)
        self._next_index = first_index
        self._writer: TrackSegmentWriter | None = None
        self._segment_index = 0
        self._segment_key = ""
        self._segment_start = 0
        self._anchor: tuple[int, int] | None = None  # (RTP timestamp, session ms)
        self._last_pts: int | None = None
        self._last_duration = 0
        self._last_keyframe_request = -1e9
        self._want_keyframe = False

    # -- control (event loop) --------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Packets and controls received but not yet written (the recording's lag)."""
        return len(self._inbox)

    async def start(self) -> None:
        """Start writing (packets are accepted from construction on)."""
        if self._started or not self._accepting:
            return
        self._started = True
        self._flusher.add(self)

    async def stop(self) -> None:
        """Write what is queued, close the open segment (reported), and leave the flusher."""
        self._accepting = False
        if not self._started:
            self._inbox.clear()
            return
        if not self._stopped.is_set():
            self._inbox.put_control(_Control.STOP)
            if self._flusher.running:
                self._flusher.wake()
                await self._stopped.wait()
            else:  # the flusher was stopped first: this recorder's last round, here
                await self._flusher.flush([self])
        self._flusher.discard(self)
        if self._owns_flusher:
            await self._flusher.stop()

    def pause(self) -> None:
        """Stop writing (the open segment is closed); nothing is written until resume."""
        if self._paused or not self._accepting:
            return
        self._paused = True
        self._inbox.put_control(_Control.PAUSE)

    def resume(self) -> None:
        """Write again, from the next keyframe on (one is requested now)."""
        if not self._paused or not self._accepting:
            return
        self._paused = False
        self._inbox.put_control(_Control.RESUME)
        if self._video:
            self._ask_keyframe()

    @property
    def paused(self) -> bool:
        """Whether the recorder is paused."""
        return self._paused

    @property
    def failed(self) -> bool:
        """Whether writing failed (the recorder no longer writes)."""
        return self._failed

    def on_packet(self, packet: MediaPacket) -> None:
        """One packet of the track: queued, never blocks."""
        self.put(*packet)

    def put(
        self, sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float
    ) -> None:
        """One packet's fields, from the forwarding path (a sink's ``packet_target``)."""
        if not self._accepting or self._paused:
            return
        inbox = self._inbox
        if len(inbox) >= MAX_QUEUE:
            self.stats.packets_dropped += 1
            return
        inbox.put(sequence, timestamp, marker, payload, arrival)

    # -- batches (driven by the flusher) ----------------------------------------------------

    def prepare_batch(self) -> Callable[[], list[_Notice]] | None:
        """(The flusher, on the loop.) Take what was queued and, for WebM, frame it here;
        returns the file work left for the writer thread, or ``None`` when idle."""
        if not self._inbox:
            return None
        batch = self._inbox.take()
        self.stats.packets += len(batch) - len(batch.controls)
        if self._failed:
            return list
        if self._split:
            return functools.partial(self._write_files, self._process(batch))
        return functools.partial(self._process_and_write, batch)

    async def finish_batch(self, result: object) -> None:
        """(The flusher, back on the loop.) Report the batch's events; ask for a keyframe if
        the stream needs one; mark the recorder stopped after its STOP."""
        notices: list[_Notice] = result  # type: ignore[assignment]
        await self._dispatch(notices)
        if self._want_keyframe:
            self._want_keyframe = False
            self._ask_keyframe()
        if self._stop_queued():
            self._stopped.set()

    def _stop_queued(self) -> bool:
        # STOP is the last thing ever queued; once its batch is done nothing is left.
        return not self._accepting and not self._inbox

    async def _dispatch(self, notices: list[_Notice]) -> None:
        for notice in notices:
            try:
                if isinstance(notice, _Opened):
                    result = self._events.segment_opened(notice.index, notice.key, notice.start_ms)
                elif isinstance(notice, _Closed):
                    result = self._events.segment_closed(
                        notice.index,
                        notice.key,
                        notice.start_ms,
                        notice.end_ms,
                        notice.size,
                        notice.sha256,
                    )
                elif isinstance(notice, _Failed):
                    result = self._events.failed(notice.error)
                else:  # a _Closing is always turned into a _Closed by _write_files
                    continue
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("recorder event handler failed on %s", notice)

    def _ask_keyframe(self) -> None:
        if self._request_keyframe is None:
            return
        self.stats.keyframe_requests += 1
        try:
            self._request_keyframe()
        except Exception:
            logger.exception("keyframe request failed")

    # -- worker thread ---------------------------------------------------------------------

    def _process(self, batch: QueuedBatch[_Control]) -> list[_Notice]:
        notices: list[_Notice] = []
        depacketizer = self._depacketizer
        try:
            run_start = 0
            for position in batch.controls:
                self._write_packets(batch.rows(run_start, position), notices)
                run_start = position + 1
                if batch.control(position) is _Control.RESUME:
                    depacketizer.reset()
                else:
                    self._close_segment(notices)
            self._write_packets(batch.rows(run_start), notices)
        except Exception as error:
            self._fail(error, notices)
        self.stats.frames_dropped = depacketizer.frames_dropped
        return notices

    def _process_and_write(self, batch: QueuedBatch[_Control]) -> list[_Notice]:
        return self._write_files(self._process(batch))

    def _write_files(self, notices: list[_Notice]) -> list[_Notice]:
        """The file work of a batch: close the segments it cut (their hashes become the
        ``_Closed`` notices), then put the open segment's new frames in its file. One write
        per file per batch: that is what a crash may lose."""
        done: list[_Notice] = []
        try:
            for notice in notices:
                if isinstance(notice, _Closing):
                    size, digest = notice.writer.close()
                    self.stats.bytes_written += size
                    self.stats.segments += 1
                    done.append(
                        _Closed(
                            notice.index, notice.key, notice.start_ms, notice.end_ms, size, digest
                        )
                    )
                else:
                    done.append(notice)
            if self._writer is not None and not self._failed:
                self._writer.flush()
        except Exception as error:
            for notice in notices[len(done) :]:
                if isinstance(notice, _Closing):
                    notice.writer.abort()
            self._fail(error, done)
        return done

    def _fail(self, error: BaseException, notices: list[_Notice]) -> None:
        self._failed = True
        self._accepting = False
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        logger.error("recording track %s failed: %s", self.info.track_id, error)
        notices.append(_Failed(error))

    def _write_packets(self, packets: Iterable[PacketRow], notices: list[_Notice]) -> None:
        """Assemble ``packets`` (no controls among them) into frames and write them.

        One loop per batch, with the session clock and the cut inlined: this runs for every
        frame recorded, and a few calls per frame were a large share of recording's cost.
        """
        depacketizer = self._depacketizer
        frames = depacketizer.push_many(packets)
        if depacketizer.needs_keyframe:
            self._keyframe_due()
        video = self._video
        ms_per_tick = self._ms_per_tick
        base_ms = (self._wall_offset - self.session_origin) * 1000
        cut_ms = self._cut_ms
        # The recorder's state in locals for the loop, stored back after it.
        anchor = self._anchor
        last = self._last_pts
        duration = self._last_duration
        writer = self._writer
        segment_start = self._segment_start
        written = 0
        try:
            for data, timestamp, keyframe, arrival in frames:
                # Session time: RTP time from the anchor, re-anchored on arrival when they part.
                arrival_ms = arrival * 1000 + base_ms
                if anchor is not None:
                    pts = anchor[1] + round((timestamp - anchor[0]) * ms_per_tick)
                    if not -REANCHOR_MS <= pts - arrival_ms <= REANCHOR_MS:
                        logger.info(
                            "track %s: clock re-anchored (%d ms off)",
                            self.info.track_id,
                            pts - arrival_ms,
                        )
                        anchor = None
                if anchor is None:
                    pts = round(arrival_ms)
                    anchor = (timestamp, pts)
                frame_duration = duration
                if last is not None:
                    step = pts - last
                    if step <= 0:
                        pts = last + 1  # never backwards, whatever the clock did
                    elif step < 1000:
                        frame_duration = step
                if writer is not None and pts - segment_start >= cut_ms:
                    if keyframe or not video:
                        self._close_segment(notices, pts)
                        writer = None
                    else:
                        self._keyframe_due()
                if writer is None:
                    if video and not keyframe:
                        self._keyframe_due()
                        continue
                    writer = self._open_segment(pts)
                    segment_start = pts
                    writer.write(data, pts, keyframe, frame_duration)
                    notices.append(_Opened(self._segment_index, self._segment_key, pts))
                else:
                    writer.write(data, pts, keyframe, frame_duration)
                written += 1
                last = pts
                duration = frame_duration
                if keyframe and video:
                    self._last_keyframe_request = -1e9
        finally:
            self._anchor = anchor
            self._last_pts = last
            self._last_duration = duration
            self.stats.frames += written

    def _keyframe_due(self) -> None:
        now = time.monotonic()
        if now - self._last_keyframe_request >= KEYFRAME_RETRY:
            self._last_keyframe_request = now
            self._want_keyframe = True

    def _open_segment(self, start_ms: int) -> TrackSegmentWriter:
        index = self._next_index
        self._next_index += 1
        key = self._key_for(index)
        writer = self._writer_factory(self._spool.path(key), self.info.mime_type)
        self._writer, self._segment_index, self._segment_key = writer, index, key
        self._segment_start = start_ms
        return writer

    def _close_segment(self, notices: list[_Notice], cut_ms: int | None = None) -> None:
        """Close the open segment; a cut ends it where the next one starts."""
        writer, self._writer = self._writer, None
        if writer is None or writer.start_ms is None:
            return
        end_ms = writer.end_ms if writer.end_ms is not None else writer.start_ms
        if cut_ms is not None:
            end_ms = cut_ms
        if getattr(writer, "defers_io", False):
            # Its file is closed in _write_files, after the frames framed so far.
            notices.append(
                _Closing(writer, self._segment_index, self._segment_key, writer.start_ms, end_ms)
            )
            return
        size, digest = writer.close()
        self.stats.bytes_written += size
        self.stats.segments += 1
        notices.append(
            _Closed(self._segment_index, self._segment_key, writer.start_ms, end_ms, size, digest)
        )
