"""Records one track: forwarded packets → frames → session-clock segment files.

:meth:`TrackRecorder.on_packet` runs on the forwarding path and only appends to a queue. A
task owned by the recorder drains the queue every ``flush_interval`` seconds and hands the
batch to a worker thread, which assembles frames (:mod:`recording.depacketize`) and muxes
them (:mod:`recording.segment_writer`): the event loop never waits on the disk or the muxer.
What happens (segment opened/closed, failure) is reported back on the event loop through
:class:`TrackRecorderEvents`.

Session clock: the first frame's arrival (``time.monotonic()``, converted to wall time with
an offset captured once) minus ``session_origin`` gives its session time; later frames advance
by RTP timestamp / clock rate. If the two clocks drift apart by more than a second (the
publisher restarted its timestamps), the mapping is anchored again on arrival.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signaling.media.model import MediaPacket, TrackInfo

from .depacketize import Depacketizer, Frame, depacketizer_for
from .segment_writer import Container, SegmentWriter, container_for
from .storage import LocalStore

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


_Notice = _Opened | _Closed | _Failed
WriterFactory = Callable[[Path, str], SegmentWriter]


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
        writer_factory: WriterFactory = SegmentWriter,
        offload: bool = True,
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
        self._flush_interval = flush_interval
        self._writer_factory = writer_factory
        self._offload = offload
        # One offset for the recorder's lifetime: monotonic arrival → wall clock.
        self._wall_offset = time.time() - time.monotonic()
        self._ms_per_tick = 1000 / info.clock_rate
        self._inbox: collections.deque[MediaPacket | _Control] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Packets are queued from construction on, so none is lost before start() runs.
        self._accepting = True
        self._stopping = False
        self._paused = False
        self._failed = False
        # Worker-thread state (touched by one thread at a time, never by the loop).
        self._depacketizer: Depacketizer = depacketizer_for(info.mime_type)
        self._next_index = first_index
        self._writer: SegmentWriter | None = None
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
        if self._task is not None or not self._accepting:
            return
        self._task = asyncio.create_task(self._run(), name=f"record {self.info.track_id}")

    async def stop(self) -> None:
        """Write what is queued, close the open segment (reported), and end the task."""
        self._accepting = False
        task = self._task
        if task is None:
            self._inbox.clear()
            return
        self._inbox.append(_Control.STOP)
        self._stopping = True
        self._wake.set()
        try:
            await task
        except asyncio.CancelledError:
            if not task.done():
                raise
        finally:
            self._task = None

    def pause(self) -> None:
        """Stop writing (the open segment is closed); nothing is written until resume."""
        if self._paused or not self._accepting:
            return
        self._paused = True
        self._inbox.append(_Control.PAUSE)
        self._wake.set()

    def resume(self) -> None:
        """Write again, from the next keyframe on (one is requested now)."""
        if not self._paused or not self._accepting:
            return
        self._paused = False
        self._inbox.append(_Control.RESUME)
        self._wake.set()
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
        """One packet of the track, from the forwarding path: queued, never blocks."""
        if not self._accepting or self._paused:
            return
        if len(self._inbox) >= MAX_QUEUE:
            self.stats.packets_dropped += 1
            return
        self._inbox.append(packet)
        self.stats.packets += 1
        if not self._wake.is_set():
            self._wake.set()

    # -- the task --------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                await self._wake.wait()
                self._wake.clear()
                batch = list(self._inbox)
                self._inbox.clear()
                stopping = self._stopping  # then STOP is the batch's last item
                if batch and not self._failed:
                    if self._offload:
                        notices = await asyncio.to_thread(self._process, batch)
                    else:
                        notices = self._process(batch)
                    await self._dispatch(notices)
                    if self._want_keyframe:
                        self._want_keyframe = False
                        self._ask_keyframe()
                if not stopping:
                    # Let packets gather: one thread hop per interval, not per packet.
                    await asyncio.sleep(self._flush_interval)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("recorder of track %s stopped", self.info.track_id)
            self._accepting = False
        finally:
            logger.debug("recorder of track %s exited", self.info.track_id)

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
                else:
                    result = self._events.failed(notice.error)
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

    def _process(self, batch: list[MediaPacket | _Control]) -> list[_Notice]:
        notices: list[_Notice] = []
        depacketizer = self._depacketizer
        push, write = depacketizer.push, self._write
        try:
            for item in batch:
                if type(item) is _Control:
                    if item is _Control.RESUME:
                        depacketizer.reset()
                    else:
                        self._close_segment(notices)
                    continue
                for frame in push(item):  # type: ignore[arg-type]
                    write(frame, notices)
                if depacketizer.needs_keyframe:
                    self._keyframe_due()
        except Exception as error:
            self._failed = True
            self._accepting = False
            if self._writer is not None:
                self._writer.abort()
                self._writer = None
            logger.error("recording track %s failed: %s", self.info.track_id, error)
            notices.append(_Failed(error))
        self.stats.frames_dropped = self._depacketizer.frames_dropped
        return notices

    def _session_ms(self, timestamp: int, arrival: float) -> int:
        arrival_ms = (arrival + self._wall_offset - self.session_origin) * 1000
        anchor = self._anchor
        if anchor is not None:
            pts = anchor[1] + round((timestamp - anchor[0]) * self._ms_per_tick)
            if -REANCHOR_MS <= pts - arrival_ms <= REANCHOR_MS:
                return pts
            logger.info(
                "track %s: clock re-anchored (%d ms off)", self.info.track_id, pts - arrival_ms
            )
        self._anchor = (timestamp, round(arrival_ms))
        return round(arrival_ms)

    def _keyframe_due(self) -> None:
        now = time.monotonic()
        if now - self._last_keyframe_request >= KEYFRAME_RETRY:
            self._last_keyframe_request = now
            self._want_keyframe = True

    def _write(self, frame: Frame, notices: list[_Notice]) -> None:
        data, timestamp, keyframe, arrival = frame
        pts = self._session_ms(timestamp, arrival)
        last = self._last_pts
        duration = self._last_duration
        if last is not None:
            step = pts - last
            if step <= 0:
                pts = last + 1  # never backwards, whatever the clock did
            elif step < 1000:
                duration = step
        writer = self._writer
        if writer is not None and pts - self._segment_start >= self._cut_ms:
            if keyframe or not self._video:
                self._close_segment(notices, pts)
                writer = None
            else:
                self._keyframe_due()
        if writer is None:
            if self._video and not keyframe:
                self._keyframe_due()
                return
            index = self._next_index
            self._next_index += 1
            key = self._key_for(index)
            writer = self._writer_factory(self._spool.path(key), self.info.mime_type)
            self._writer, self._segment_index, self._segment_key = writer, index, key
            self._segment_start = pts
            writer.write(data, pts, keyframe, duration)
            notices.append(_Opened(index, key, pts))
        else:
            writer.write(data, pts, keyframe, duration)
        self._last_pts = pts
        self._last_duration = duration
        if keyframe and self._video:
            self._last_keyframe_request = -1e9
        self.stats.frames += 1

    def _close_segment(self, notices: list[_Notice], cut_ms: int | None = None) -> None:
        """Close the open segment; a cut ends it where the next one starts."""
        writer, self._writer = self._writer, None
        if writer is None or writer.start_ms is None:
            return
        end_ms = writer.end_ms if writer.end_ms is not None else writer.start_ms
        if cut_ms is not None:
            end_ms = cut_ms
        size, digest = writer.close()
        self.stats.bytes_written += size
        self.stats.segments += 1
        notices.append(
            _Closed(self._segment_index, self._segment_key, writer.start_ms, end_ms, size, digest)
        )
