"""Real media for capture tests: synthetic clips packetized the way aiortc sends them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder

from signaling.media.model import MediaPacket, TrackInfo
from signaling.media.synthetic import EncodedClip

VP8 = TrackInfo("v1", "p1", "camera", "video", "video/VP8", 90000)
H264 = TrackInfo("h1", "p1", "camera", "video", "video/H264", 90000)
OPUS = TrackInfo("a1", "p1", "microphone", "audio", "audio/opus", 48000)


def payloads(mime: str, frame: bytes, picture_id: int = 0) -> list[bytes]:
    """RTP payloads of one encoded frame, packetized by aiortc's own payloaders."""
    if mime == "video/VP8":
        return list(Vp8Encoder._packetize(frame, picture_id))
    if mime == "video/H264":
        return list(H264Encoder._packetize(H264Encoder._split_bitstream(frame)))
    return [frame]


def packets(
    info: TrackInfo,
    clip: EncodedClip,
    count: int,
    start: float,
    seq: int = 1000,
    ts: int = 4_294_900_000,
) -> Iterator[MediaPacket]:
    """``count`` frames of ``clip`` (looping) as packets, arriving at real-time spacing from
    ``start`` (a ``time.monotonic()`` value). Timestamps start near the 32-bit wrap."""
    for index in range(count):
        frame, _ = clip.frames[index % len(clip.frames)]
        arrival = start + index * clip.frame_duration / clip.clock_rate
        parts = payloads(info.mime_type, frame, index & 0x7FFF)
        stamp = (ts + index * clip.frame_duration) & 0xFFFFFFFF
        for n, payload in enumerate(parts):
            yield MediaPacket(seq & 0xFFFF, stamp, n == len(parts) - 1, payload, arrival)
            seq += 1


def decoded_pts_ms(path: Path) -> list[int]:
    """Milliseconds of every frame PyAV decodes from ``path`` (decoding errors end it)."""
    out: list[int] = []
    container: Any = av.open(str(path))
    try:
        stream = container.streams[0]
        try:
            for frame in container.decode(stream):
                out.append(round(float(frame.pts * frame.time_base) * 1000))
        except av.FFmpegError:
            pass
    finally:
        container.close()
    return out


def monotonic_of_session(session_origin: float, ms: float) -> float:
    """The ``time.monotonic()`` value of session time ``ms``."""
    return session_origin + ms / 1000 - (time.time() - time.monotonic())


class Collected:
    """Records a :class:`recording.track_recorder.TrackRecorder`'s events (async ones)."""

    def __init__(self) -> None:
        self.opened: list[tuple[int, str, int]] = []
        self.closed: list[tuple[int, str, int, int, int, str]] = []
        self.errors: list[BaseException] = []
        self.changed = asyncio.Event()

    async def segment_opened(self, index: int, key: str, start_ms: int) -> None:
        self.opened.append((index, key, start_ms))
        self.changed.set()

    async def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> None:
        self.closed.append((index, key, start_ms, end_ms, size, sha256))
        self.changed.set()

    def failed(self, error: BaseException) -> None:
        self.errors.append(error)
        self.changed.set()


def decoded_frames(path: Path) -> list[tuple[int, bool]]:
    """(milliseconds, keyframe) of every frame decoded from ``path``."""
    out: list[tuple[int, bool]] = []
    container: Any = av.open(str(path))
    try:
        for frame in container.decode(container.streams[0]):
            key = bool(getattr(frame, "key_frame", True))
            out.append((round(float(frame.pts * frame.time_base) * 1000), key))
    finally:
        container.close()
    return out


async def until(predicate: Callable[[], bool], event: asyncio.Event, within: float = 10.0) -> None:
    """Wait, woken by ``event``, until ``predicate()`` holds; fail after ``within`` s."""
    async with asyncio.timeout(within):
        while not predicate():
            await event.wait()
            event.clear()
