"""Frame assembly: the encoded RTP payloads a sink receives, reassembled into whole frames.

Nothing is decoded. VP8 (RFC 7741) and H264 (RFC 6184: single NAL unit, STAP-A, FU-A,
output as Annex B with SPS/PPS kept in front of every IDR) are assembled from the packets of
one RTP timestamp ending at the marker bit; Opus is one packet, one frame. A frame with a
missing packet is never emitted: video then waits for the next keyframe and says so through
:attr:`Depacketizer.needs_keyframe` (the caller asks the publisher for one).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import NamedTuple

from signaling.media.model import MediaPacket

logger = logging.getLogger(__name__)

ANNEX_B = b"\x00\x00\x00\x01"
_NAL_SPS = 7
_NAL_PPS = 8
_NAL_IDR = 5
_STAP_A = 24
_FU_A = 28


PacketRow = tuple[int, int, int, bytes, float]
"""A packet's fields in :class:`MediaPacket` order: sequence, timestamp, marker, payload,
arrival. A :class:`MediaPacket` is one; so is a row of a :class:`recording.packet_queue`."""


class Frame(NamedTuple):
    """One whole encoded frame (a named tuple: cheap to make, one per packet for audio).

    ``timestamp`` is the RTP timestamp extended past 32-bit wrap-around (it only grows), so
    ``(timestamp - first) / clock_rate`` is media time. ``arrival`` is the ``time.monotonic()``
    arrival of the frame's first packet.
    """

    data: bytes
    timestamp: int
    keyframe: bool
    arrival: float


class TimestampUnwrapper:
    """Extends 32-bit RTP timestamps to a growing integer (robust to wrap-around)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._ext = 0

    def extend(self, ts: int) -> int:
        """The extended value of ``ts`` (small backward steps stay backward)."""
        if self._last is None:
            self._ext = ts
        else:
            delta = (ts - self._last) & 0xFFFFFFFF
            if delta >= 0x80000000:
                delta -= 1 << 32
            self._ext += delta
        self._last = ts
        return self._ext


def vp8_descriptor_size(payload: bytes) -> int:
    """Bytes of the VP8 payload descriptor (RFC 7741 4.2); ``ValueError`` if truncated."""
    size = len(payload)
    if size < 1:
        raise ValueError("empty VP8 payload")
    pos = 1
    if payload[0] & 0x80:
        if size < 2:
            raise ValueError("truncated VP8 descriptor")
        ext = payload[1]
        pos = 2
        if ext & 0x80:
            if size <= pos:
                raise ValueError("truncated VP8 PictureID")
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:
            pos += 1
        if ext & 0x30:
            pos += 1
    if pos > size:
        raise ValueError("truncated VP8 descriptor")
    return pos


class Depacketizer(ABC):
    """Turns one track's packets into frames; see :func:`depacketizer_for`.

    Packets come in arrival order. One that is late or a duplicate (its sequence number
    behind the newest) is ignored: it was already accounted for as lost. The recorder feeds
    a whole batch at once (:meth:`push_many`): one call per batch instead of several per
    packet is most of what frame assembly costs on a busy media worker.
    """

    video = False

    def __init__(self) -> None:
        self.needs_keyframe = False
        """Video only: a frame was lost; nothing is emitted until a keyframe comes."""
        self.frames_dropped = 0
        self._unwrap = TimestampUnwrapper()
        self._last_seq: int | None = None

    def push(self, packet: MediaPacket) -> list[Frame]:
        """Feed one packet; returns the frames it completed (usually zero or one)."""
        return self.push_many((packet,))

    @abstractmethod
    def push_many(self, packets: Iterable[PacketRow]) -> list[Frame]:
        """Feed packets in arrival order; returns the frames they completed."""

    def reset(self) -> None:
        """Forget the stream position (after a pause): video waits for a keyframe."""
        self._last_seq = None
        self._reset_frame()
        if self.video:
            self.needs_keyframe = True

    def _reset_frame(self) -> None:  # noqa: B027 (only video keeps a frame in progress)
        """Drop a frame in progress."""


class OpusDepacketizer(Depacketizer):
    """Opus: every packet is a frame; losses are simply gaps."""

    def push_many(self, packets: Iterable[PacketRow]) -> list[Frame]:
        frames: list[Frame] = []
        last = self._last_seq
        extend = self._unwrap.extend
        for seq, ts, _marker, payload, arrival in packets:
            if last is not None:
                step = (seq - last) & 0xFFFF
                if step == 0 or step >= 0x8000:
                    continue
            last = seq
            if payload:
                frames.append(Frame(payload, extend(ts), True, arrival))
        self._last_seq = last
        return frames


class VideoDepacketizer(Depacketizer):
    """Common frame assembly: packets of one timestamp up to the marker bit."""

    video = True

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._ts: int | None = None
        self._arrival = 0.0
        self._broken = False

    def _reset_frame(self) -> None:
        self._parts = []
        self._ts = None
        self._broken = False

    def push_many(self, packets: Iterable[PacketRow]) -> list[Frame]:
        frames: list[Frame] = []
        for seq, ts, marker, payload, arrival in packets:
            last = self._last_seq
            lost = False
            if last is not None:
                step = (seq - last) & 0xFFFF
                if step == 0 or step >= 0x8000:
                    continue
                lost = step != 1
            self._last_seq = seq
            if lost or (self._ts is not None and ts != self._ts):
                # A gap, or a new timestamp while a frame is open (its marker was lost).
                self._lose()
            if self._ts is None:
                self._ts = ts
                self._arrival = arrival
                self._broken = lost or not self._starts_frame(payload)
            try:
                self._parts.append(self._strip(payload))
            except ValueError:
                self._broken = True
            if marker and (frame := self._complete()) is not None:
                frames.append(frame)
        return frames

    def _complete(self) -> Frame | None:
        """The frame in progress, at its marker packet (``None`` when it cannot be used)."""
        assert self._ts is not None
        ts = self._unwrap.extend(self._ts)
        parts, broken = self._parts, self._broken
        self._reset_frame()
        if broken:
            self.frames_dropped += 1
            self.needs_keyframe = True
            return None
        data, keyframe = self._assemble(parts)
        if not data:
            return None
        if self.needs_keyframe and not keyframe:
            self.frames_dropped += 1
            return None
        self.needs_keyframe = False
        return Frame(data, ts, keyframe, self._arrival)

    def _lose(self) -> None:
        if self._parts or self._ts is not None:
            self.frames_dropped += 1
        self._reset_frame()
        self.needs_keyframe = True

    @abstractmethod
    def _starts_frame(self, payload: bytes) -> bool:
        """Whether this payload begins a frame."""

    @abstractmethod
    def _strip(self, payload: bytes) -> bytes:
        """The codec data of one payload, without its payload header."""

    @abstractmethod
    def _assemble(self, parts: list[bytes]) -> tuple[bytes, bool]:
        """One frame from its parts, and whether it is a keyframe."""


class Vp8Depacketizer(VideoDepacketizer):
    """VP8: strip the payload descriptor; the frame starts with S=1, partition 0."""

    def _starts_frame(self, payload: bytes) -> bool:
        return bool(payload) and bool(payload[0] & 0x10) and not payload[0] & 0x0F

    def _strip(self, payload: bytes) -> bytes:
        return payload[vp8_descriptor_size(payload) :]

    def _assemble(self, parts: list[bytes]) -> tuple[bytes, bool]:
        data = b"".join(parts)
        # P bit of the VP8 frame tag is 0 on a keyframe; a keyframe also carries a start code.
        keyframe = len(data) >= 10 and not data[0] & 0x01 and data[3:6] == b"\x9d\x01\x2a"
        return data, keyframe


class H264Depacketizer(VideoDepacketizer):
    """H264 packetization mode 1 to Annex B; SPS/PPS are remembered and put before IDRs."""

    def __init__(self) -> None:
        super().__init__()
        self._sps: bytes | None = None
        self._pps: bytes | None = None

    def _starts_frame(self, payload: bytes) -> bool:
        if not payload:
            return False
        if payload[0] & 0x1F == _FU_A:
            return len(payload) >= 2 and bool(payload[1] & 0x80)
        return True

    def _strip(self, payload: bytes) -> bytes:
        # Each part becomes Annex B NAL units, except FU-A continuations (raw bytes).
        if not payload:
            raise ValueError("empty H264 payload")
        nal = payload[0] & 0x1F
        if 1 <= nal <= 23:
            return ANNEX_B + payload
        if nal == _STAP_A:
            out = []
            pos = 1
            while pos < len(payload):
                if pos + 2 > len(payload):
                    raise ValueError("truncated STAP-A")
                length = (payload[pos] << 8) | payload[pos + 1]
                pos += 2
                if length == 0 or pos + length > len(payload):
                    raise ValueError("truncated STAP-A unit")
                out.append(ANNEX_B + payload[pos : pos + length])
                pos += length
            return b"".join(out)
        if nal == _FU_A:
            if len(payload) < 3:
                raise ValueError("truncated FU-A")
            header = payload[1]
            if header & 0x80:
                return ANNEX_B + bytes([(payload[0] & 0xE0) | (header & 0x1F)]) + payload[2:]
            return payload[2:]
        raise ValueError(f"unsupported H264 NAL type {nal}")

    def _assemble(self, parts: list[bytes]) -> tuple[bytes, bool]:
        data = b"".join(parts)
        units = [u for u in data.split(ANNEX_B) if u]
        types = [u[0] & 0x1F for u in units]
        for unit, kind in zip(units, types, strict=True):
            if kind == _NAL_SPS:
                self._sps = unit
            elif kind == _NAL_PPS:
                self._pps = unit
        keyframe = _NAL_IDR in types
        if keyframe and (_NAL_SPS not in types or _NAL_PPS not in types):
            if self._sps is None or self._pps is None:
                return b"", False  # an IDR nobody can decode: wait for parameter sets
            data = ANNEX_B + self._sps + ANNEX_B + self._pps + data
        return data, keyframe


def depacketizer_for(mime_type: str) -> Depacketizer:
    """A depacketizer for ``video/VP8``, ``video/H264`` or ``audio/opus``."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return Vp8Depacketizer()
    if mime == "video/h264":
        return H264Depacketizer()
    if mime == "audio/opus":
        return OpusDepacketizer()
    raise ValueError(f"cannot record {mime_type}")
