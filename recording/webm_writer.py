"""One WebM segment file of a VP8 or Opus track, written directly (no muxer library).

WebM for one track of already-encoded frames is a fixed header and then SimpleBlocks, so
writing it here costs a few bytes of framing per frame instead of a trip through a muxer,
and the file is written once per batch (:meth:`WebmSegmentWriter.flush`, every
``flush_interval`` of the recorder) instead of once per frame: that is most of what
recording costs the media worker (bench/recording.md).

The layout is the one browsers' own recorders write (MediaRecorder): a Segment and Clusters
of unknown size, no Cues, no Duration. Nothing is ever rewritten, so the file is hashed as it
is written (no reading back at close), and a process killed at any moment leaves a file that
plays up to its last flush. Clusters start at every video keyframe and at least every second
(``CLUSTER_MS``). Timestamps are session-clock milliseconds (TimecodeScale 1 ms), like every
other segment of the session.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from .segment_writer import vp8_dimensions

CLUSTER_MS = 1000
"""A new cluster at least this often (a SimpleBlock's offset is a signed 16-bit count)."""

OPUS_PRE_SKIP = 0
"""Samples a player trims at the start: none. The browser's encoder delay is already in the
stream it sent, and with no trim (and no CodecDelay) every Opus frame decodes at exactly the
session time it was written at."""

_UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"
_SEGMENT = b"\x18\x53\x80\x67"
_CLUSTER = b"\x1f\x43\xb6\x75" + _UNKNOWN_SIZE
_TIMECODE = b"\xe7"
_SIMPLE_BLOCK = b"\xa3"


def _size(length: int) -> bytes:
    """An EBML element size (variable-length integer) of ``length``."""
    for width in range(1, 8):
        if length < (1 << (7 * width)) - 1:
            return (length | (1 << (7 * width))).to_bytes(width, "big")
    raise ValueError(f"element too large: {length}")


_SMALL = 1 << 14
_BLOCK_PREFIX = [_SIMPLE_BLOCK + _size(n) + b"\x81" for n in range(_SMALL)]
"""SimpleBlock ID, size and track number (1) of blocks under 16 kB (nearly every frame),
looked up instead of encoded per frame."""
_block_offset = struct.Struct(">hB").pack  # timecode offset in the cluster, flags


def _element(element_id: bytes, payload: bytes) -> bytes:
    return element_id + _size(len(payload)) + payload


def _uint(element_id: bytes, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _float(element_id: bytes, value: float) -> bytes:
    return _element(element_id, struct.pack(">d", value))


def _string(element_id: bytes, value: str) -> bytes:
    return _element(element_id, value.encode("utf-8"))


def _ebml_header() -> bytes:
    return _element(
        b"\x1a\x45\xdf\xa3",
        _uint(b"\x42\x86", 1)  # EBMLVersion
        + _uint(b"\x42\xf7", 1)  # EBMLReadVersion
        + _uint(b"\x42\xf2", 4)  # EBMLMaxIDLength
        + _uint(b"\x42\xf3", 8)  # EBMLMaxSizeLength
        + _string(b"\x42\x82", "webm")  # DocType
        + _uint(b"\x42\x87", 4)  # DocTypeVersion
        + _uint(b"\x42\x85", 2),  # DocTypeReadVersion
    )


def _info() -> bytes:
    return _element(
        b"\x15\x49\xa9\x66",
        _uint(b"\x2a\xd7\xb1", 1_000_000)  # TimecodeScale: 1 ms
        + _string(b"\x4d\x80", "Bilin")  # MuxingApp
        + _string(b"\x57\x41", "Bilin"),  # WritingApp
    )


def opus_head(channels: int = 2, pre_skip: int = OPUS_PRE_SKIP) -> bytes:
    """The Opus identification header (RFC 7845 5.1) that is a WebM track's CodecPrivate."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, 48000, 0, 0)


def _track_entry(mime_type: str, first_frame: bytes) -> bytes:
    common = _uint(b"\xd7", 1) + _uint(b"\x73\xc5", 1) + _uint(b"\x9c", 0)  # number, UID, lacing
    if mime_type == "audio/opus":
        body = (
            common
            + _string(b"\x86", "A_OPUS")
            + _uint(b"\x83", 2)  # TrackType audio
            + _uint(b"\x56\xbb", 80_000_000)  # SeekPreRoll, ns
            + _element(b"\x63\xa2", opus_head())  # CodecPrivate
            + _element(b"\xe1", _float(b"\xb5", 48000.0) + _uint(b"\x9f", 2))  # Audio
        )
    elif mime_type == "video/vp8":
        width, height = vp8_dimensions(first_frame) or (640, 480)
        body = (
            common
            + _string(b"\x86", "V_VP8")
            + _uint(b"\x83", 1)  # TrackType video
            + _element(b"\xe0", _uint(b"\xb0", width) + _uint(b"\xba", height))  # Video
        )
    else:
        raise ValueError(f"not a WebM codec: {mime_type}")
    return _element(b"\x16\x54\xae\x6b", _element(b"\xae", body))  # Tracks, TrackEntry


class WebmSegmentWriter:
    """Writes one WebM segment of a VP8 or Opus track; frames come with session-clock ms.

    Same interface as :class:`recording.segment_writer.SegmentWriter`, with the work split
    in two: :meth:`write` only frames bytes in memory (no system call, cheap enough for the
    event loop), :meth:`flush` and :meth:`close` do the file work (create, write, hash: C
    calls that release the GIL, so a thread can do them alongside the loop). A video segment
    starts with a keyframe; ``close()`` returns the file's size and SHA-256. Not thread-safe:
    one thread at a time.
    """

    defers_io = True
    """:meth:`write` never touches the file (see :class:`recording.track_recorder`)."""

    def __init__(self, path: Path, mime_type: str) -> None:
        self.path = path
        self.mime_type = mime_type.lower()
        if self.mime_type not in ("video/vp8", "audio/opus"):
            raise ValueError(f"not a WebM codec: {mime_type}")
        self.video = self.mime_type == "video/vp8"
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.frames = 0
        self._fd: int | None = None
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._cluster_ms: int | None = None
        self._last_ms: int | None = None

    @property
    def opened(self) -> bool:
        """Whether a frame has been written."""
        return self.start_ms is not None

    def write(self, data: bytes, pts_ms: int, keyframe: bool, duration_ms: int = 0) -> None:
        """Add one frame at ``pts_ms`` (session clock); timestamps must grow strictly."""
        last = self._last_ms
        if last is not None and pts_ms <= last:
            pts_ms = last + 1  # never a non-increasing timestamp
        elif pts_ms < 0:
            pts_ms = 0  # before the session began: a cluster's timecode is unsigned
        buffer = self._buffer
        if self.start_ms is None:
            if self.video and not keyframe:
                raise ValueError("a video segment starts with a keyframe")
            self.start_ms = pts_ms
            buffer += _ebml_header()
            buffer += _SEGMENT + _UNKNOWN_SIZE + _info() + _track_entry(self.mime_type, data)
        cluster = self._cluster_ms
        if (
            cluster is None
            or pts_ms - cluster >= CLUSTER_MS
            or (keyframe and self.video and pts_ms > cluster)
        ):
            cluster = self._cluster_ms = pts_ms
            buffer += _CLUSTER
            buffer += _uint(_TIMECODE, pts_ms)
        size = len(data) + 4
        buffer += _BLOCK_PREFIX[size] if size < _SMALL else _SIMPLE_BLOCK + _size(size) + b"\x81"
        buffer += _block_offset(pts_ms - cluster, 0x80 if keyframe else 0)
        buffer += data
        self._last_ms = pts_ms
        self.end_ms = pts_ms + duration_ms if duration_ms > 0 else pts_ms
        self.frames += 1

    def flush(self) -> None:
        """Write the framed bytes to the file (created at the first flush) in one system call.

        An ``OSError`` (disk full) is the caller's: what was flushed before stays a playable
        file, hashed so far.
        """
        buffer = self._buffer
        if not buffer:
            return
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        view = memoryview(buffer)
        written = 0
        try:
            while written < len(view):
                written += os.write(self._fd, view[written:])
        finally:
            self._digest.update(view[:written])
            self._size += written
            view.release()
            del buffer[:written]

    def close(self) -> tuple[int, str]:
        """Flush and finish the file; returns its size in bytes and SHA-256 (hex)."""
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        if self._size == 0:  # nothing was ever written: an empty file, as it is
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        return self._size, self._digest.hexdigest()

    def abort(self) -> None:
        """Close without caring about errors (after a failure); the file stays as it is."""
        fd, self._fd = self._fd, None
        self._buffer.clear()
        if fd is not None:
            os.close(fd)
