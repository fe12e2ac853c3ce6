"""One segment file of one track, muxed with PyAV from encoded frames (never re-encoded).

VP8 and Opus go into WebM, H264 into fragmented MP4. Timestamps are milliseconds on the
session clock (time base 1/1000), so every segment of every track of a session lines up
without offsets, and each file is complete on its own (a browser's MediaSource can append
it as-is). Crash safety, as measured (docs/recording-capture.md): WebM clusters of at most
1 s flushed as they are written; MP4 fragments of at most 1 s with the moov up front. A
killed process leaves a file that plays up to the last flushed second.
"""

from __future__ import annotations

import hashlib
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av

logger = logging.getLogger(__name__)

Container = Literal["webm", "mp4"]
MS = Fraction(1, 1000)

_WEBM_OPTIONS = {"flush_packets": "1", "cluster_time_limit": "1000"}
_MP4_OPTIONS = {
    # frag_discont + no edit list + no shift to zero: the first fragment's decode time is
    # the session time of the first frame (otherwise the muxer starts every file at 0).
    "movflags": "empty_moov+default_base_moof+frag_keyframe+frag_discont",
    "frag_duration": "1000000",
    "flush_packets": "1",
    "use_editlist": "0",
    "avoid_negative_ts": "make_non_negative",
}


def container_for(mime_type: str) -> Container:
    """The container a track's codec is recorded in: ``webm`` or ``mp4`` (H264)."""
    mime = mime_type.lower()
    if mime in ("video/vp8", "audio/opus"):
        return "webm"
    if mime == "video/h264":
        return "mp4"
    raise ValueError(f"cannot record {mime_type}")


def vp8_dimensions(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 9.1)."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


def h264_dimensions(frame: bytes) -> tuple[int, int] | None:
    """Width and height from the SPS in an Annex B access unit (parsed, not decoded)."""
    parser: Any = av.CodecContext.create("h264", "r")
    try:
        parser.parse(frame)
        parser.parse(None)
    except av.FFmpegError:
        return None
    width, height = int(parser.width), int(parser.height)
    return (width, height) if width and height else None


class SegmentWriter:
    """Writes one segment file; frames are given with session-clock milliseconds.

    The file is opened lazily at the first frame (a video segment must start with a
    keyframe: its dimensions and parameter sets come from it). Not thread-safe: one thread
    at a time.
    """

    def __init__(self, path: Path, mime_type: str) -> None:
        self.path = path
        self.mime_type = mime_type.lower()
        self.container: Container = container_for(mime_type)
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.frames = 0
        self._output: Any = None
        self._stream: Any = None
        self._last_ms: int | None = None

    @property
    def video(self) -> bool:
        """Whether the track is video."""
        return self.mime_type.startswith("video/")

    def _open(self, first: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.container == "mp4":
            output: Any = av.open(str(self.path), "w", format="mp4", options=_MP4_OPTIONS)
        else:
            output = av.open(str(self.path), "w", format="webm", options=_WEBM_OPTIONS)
        try:
            if self.mime_type == "audio/opus":
                # A libopus stream only for its codec parameters (add_mux_stream("opus")
                # is refused for want of a sample rate); nothing is ever encoded with it.
                # "lowdelay" makes its pre-skip (trimmed by players at the start of the
                # file) 2.5 ms instead of 6.5 ms.
                stream = output.add_stream(
                    "libopus", rate=48000, options={"application": "lowdelay"}
                )
                stream.layout = "stereo"
            else:
                size = vp8_dimensions(first) if self.mime_type == "video/vp8" else None
                if self.mime_type == "video/h264":
                    size = h264_dimensions(first)
                width, height = size or (640, 480)
                codec = "vp8" if self.mime_type == "video/vp8" else "h264"
                stream = output.add_mux_stream(codec, width=width, height=height)
            stream.time_base = MS
        except BaseException:
            output.close()
            raise
        self._output = output
        self._stream = stream

    def write(self, data: bytes, pts_ms: int, keyframe: bool, duration_ms: int = 0) -> None:
        """Mux one frame at ``pts_ms`` (session clock); timestamps must grow strictly."""
        output = self._output
        if output is None:
            if self.video and not keyframe:
                raise ValueError("a video segment starts with a keyframe")
            self._open(data)
            output = self._output
            self.start_ms = pts_ms
        last = self._last_ms
        if last is not None and pts_ms <= last:
            pts_ms = last + 1  # never feed the muxer a non-increasing timestamp
        packet = av.Packet(data)
        packet.pts = pts_ms
        packet.dts = pts_ms
        packet.time_base = MS
        if duration_ms > 0:
            packet.duration = duration_ms
        if keyframe:
            packet.is_keyframe = True
        packet.stream = self._stream
        output.mux_one(packet)
        self._last_ms = pts_ms
        self.end_ms = pts_ms + max(duration_ms, 0)
        self.frames += 1

    def flush(self) -> None:
        """Nothing to do: the muxer already flushes every packet (``flush_packets``)."""

    @property
    def opened(self) -> bool:
        """Whether a frame has been written (the file exists)."""
        return self._output is not None

    def close(self) -> tuple[int, str]:
        """Finish the file; returns its size in bytes and SHA-256 (hex)."""
        output, self._output = self._output, None
        if output is not None:
            output.close()
        digest = hashlib.sha256()
        size = 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def abort(self) -> None:
        """Close without caring about errors (after a failure); the file stays as it is."""
        output, self._output = self._output, None
        if output is not None:
            try:
                output.close()
            except Exception:
                logger.debug("closing %s after a failure", self.path, exc_info=True)
