"""In-process subscribers: a recorder joins a sub-room as a system participant.

A :class:`MediaSink` is offered every track published in its sub-room and receives the
same encoded packets a browser would (rewritten to a continuous sequence, starting at a
keyframe, nothing while muted). Nothing is decoded. ``on_packet`` runs on the forwarding
path: it must be quick (queue the packet, as :class:`QueueSink` does, bounded). A
:class:`DirectMediaSink` (the recorder) names a target per track instead, which takes the
packet's fields straight from the forwarding path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from .forward import Downstream
from .model import MediaPacket, TrackInfo
from .track import PublishedTrack

if TYPE_CHECKING:
    from .room import Room

logger = logging.getLogger(__name__)


class MediaSink(Protocol):
    """What a recorder implements."""

    def track_added(self, track: TrackInfo) -> bool:
        """A track is available; return ``True`` to receive it (e.g. only consenting parties)."""
        ...

    def track_removed(self, track: TrackInfo) -> None:
        """A track the sink received went away (publisher left, moved, or stopped)."""
        ...

    def on_packet(self, track: TrackInfo, packet: MediaPacket) -> None:
        """One encoded packet of an accepted track."""
        ...


PacketTarget = Callable[[int, int, int, bytes, float], None]
"""Takes a packet's fields (sequence, timestamp, marker, payload, arrival) directly."""


class DirectMediaSink(MediaSink, Protocol):
    """A sink that also names, per track, where that track's packets go, so that the
    forwarding path hands them over without a :class:`MediaPacket` or a lookup per packet
    (a recorder: every packet of every recorded track passes here)."""

    def packet_target(self, track: TrackInfo) -> PacketTarget:
        """Where the packets of ``track`` (just accepted by :meth:`track_added`) go."""
        ...


class SinkDownstream(Downstream):
    """Delivers one track to a sink."""

    def __init__(self, sink: MediaSink, info: TrackInfo) -> None:
        super().__init__()
        self._on_packet = sink.on_packet
        self._info = info
        target = getattr(sink, "packet_target", None)
        self._put: PacketTarget = target(info) if target is not None else self._as_packet

    def _as_packet(
        self, sequence: int, timestamp: int, marker: int, payload: bytes, arrival: float
    ) -> None:
        self._on_packet(
            self._info, MediaPacket(sequence, timestamp, bool(marker), payload, arrival)
        )

    def forward(
        self, ext: int, ts: int, b0: int, b1: int, payload: bytes, key: bool, now: float
    ) -> None:
        """:meth:`Downstream.forward` with the arrival time the track already took (every
        recorded packet passes here)."""
        if self.started:
            if ext < self._start_ext:
                return
        elif not key:
            self.gated += 1
            return
        else:
            self._start(ext, ts, now)
        self._deliver(
            (ext + self._seq_off) & 0xFFFF,
            (ts + self._ts_off) & 0xFFFFFFFF,
            b1 > 0x7F,
            payload,
            now,
        )

    def _emit(self, seq: int, ts: int, b0: int, b1: int, payload: bytes) -> None:
        self._deliver(seq, ts, b1 > 0x7F, payload, time.monotonic())

    def _deliver(self, seq: int, ts: int, marker: bool, payload: bytes, arrival: float) -> None:
        try:
            self._put(seq, ts, marker, payload, arrival)
        except Exception:
            self._failed()
        else:
            self.packets += 1
            self.octets += len(payload)

    def _failed(self) -> None:
        """Count a packet the sink raised on (logged now and then, never passed on)."""
        self.dropped += 1
        if self.dropped in (1, 100) or self.dropped % 10000 == 0:
            logger.exception("media sink failed on %s", self._info.track_id)


class SinkHandle:
    """A sink attached to one sub-room; :meth:`detach` to stop it."""

    def __init__(self, room: Room, sub_room: str, sink: MediaSink) -> None:
        self.room = room
        self.sub_room = sub_room
        self.sink = sink
        self._bindings: dict[PublishedTrack, SinkDownstream] = {}
        self._declined: set[PublishedTrack] = set()

    @property
    def tracks(self) -> list[TrackInfo]:
        """Tracks the sink is receiving."""
        return [track.info for track in self._bindings]

    def request_keyframes(self) -> None:
        """Ask every video publisher for a keyframe (a recorder cutting a segment)."""
        for downstream in self._bindings.values():
            downstream.on_keyframe_request()

    def reconcile(self, desired: Sequence[PublishedTrack]) -> None:
        """Bind exactly the tracks in ``desired`` that the sink accepts."""
        keep = set(desired)
        for track in [t for t in self._bindings if t not in keep]:
            self._bindings.pop(track).detach()
            self._notify_removed(track.info)
        self._declined &= keep
        for track in desired:
            if track in self._bindings or track in self._declined:
                continue
            try:
                accepted = self.sink.track_added(track.info)
            except Exception:
                logger.exception("media sink failed on track_added")
                accepted = False
            if not accepted:
                self._declined.add(track)
                continue
            downstream = SinkDownstream(self.sink, track.info)
            self._bindings[track] = downstream
            downstream.attach(track)

    def _notify_removed(self, info: TrackInfo) -> None:
        try:
            self.sink.track_removed(info)
        except Exception:
            logger.exception("media sink failed on track_removed")

    def release(self) -> None:
        """Unbind everything (the room calls this on detach and close)."""
        for track, downstream in list(self._bindings.items()):
            downstream.detach()
            self._notify_removed(track.info)
        self._bindings.clear()

    def detach(self) -> None:
        """Stop receiving media."""
        self.room.detach_sink(self)


class QueueSink:
    """A sink that queues packets for a consumer task, dropping when the queue is full."""

    def __init__(self, maxsize: int = 2048, accept_labels: frozenset[str] | None = None) -> None:
        self.queue: asyncio.Queue[tuple[TrackInfo, MediaPacket]] = asyncio.Queue(maxsize)
        self.accept_labels = accept_labels
        self.added: list[TrackInfo] = []
        self.removed: list[TrackInfo] = []
        self.dropped = 0

    def track_added(self, track: TrackInfo) -> bool:
        """Accept every track, or those with the given labels."""
        if self.accept_labels is not None and track.label not in self.accept_labels:
            return False
        self.added.append(track)
        return True

    def track_removed(self, track: TrackInfo) -> None:
        """Note the removal."""
        self.removed.append(track)

    def on_packet(self, track: TrackInfo, packet: MediaPacket) -> None:
        """Queue the packet, or count it dropped."""
        try:
            self.queue.put_nowait((track, packet))
        except asyncio.QueueFull:
            self.dropped += 1
