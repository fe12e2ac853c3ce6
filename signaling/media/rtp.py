"""RTP header arithmetic and keyframe detection used on the forwarding path.

Everything here works on raw packet bytes: the forwarding path never builds aiortc
``RtpPacket`` objects, which is what keeps it cheap.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

RTP_HEADER = struct.Struct("!BBHII")
"""Version/flags, marker/payload type, sequence number, timestamp, SSRC."""

RTP_HEADER_SIZE = 12
SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
SEQ_HALF = 1 << 15

KeyframeDetector = Callable[[bytes], bool]


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b`` (16-bit wrap-around)."""
    return a != b and ((a - b) & 0xFFFF) < SEQ_HALF


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` between two 16-bit sequence numbers."""
    d = (a - b) & 0xFFFF
    return d - SEQ_MOD if d >= SEQ_HALF else d


def is_rtcp(data: bytes) -> bool:
    """RTCP and RTP share a port with rtcp-mux; RTCP payload types are 192-223 (RFC 5761)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def payload_offset(data: bytes) -> int:
    """Offset of the payload in an RTP packet; ``ValueError`` when the header is malformed."""
    size = len(data)
    if size < RTP_HEADER_SIZE or data[0] >> 6 != 2:
        raise ValueError("not an RTP packet")
    offset = RTP_HEADER_SIZE + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if size < offset + 4:
            raise ValueError("RTP header extension is truncated")
        offset += 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3])
    if offset > size:
        raise ValueError("RTP header is longer than the packet")
    return offset


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload starts a keyframe (RFC 7741 sections 4.2 and 4.3)."""
    size = len(payload)
    if size < 1:
        return False
    first = payload[0]
    # Only the first packet of partition 0 carries the VP8 payload header.
    if not first & 0x10 or first & 0x0F:
        return False
    pos = 1
    if first & 0x80:
        if size < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # PictureID, 7 or 15 bits
            if size <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # TL0PICIDX
            pos += 1
        if ext & 0x30:  # TID/KEYIDX share one byte
            pos += 1
    # P bit of the VP8 frame tag: 0 for a keyframe.
    return pos < size and not payload[pos] & 0x01


_H264_KEY_NALS = frozenset((5, 7))


def h264_keyframe_start(payload: bytes) -> bool:
    """Whether an H264 RTP payload (RFC 6184) starts an IDR picture or carries an SPS."""
    size = len(payload)
    if size < 1:
        return False
    nal = payload[0] & 0x1F
    if nal in _H264_KEY_NALS:
        return True
    if nal == 24:  # STAP-A: look at each aggregated NAL unit
        pos = 1
        while pos + 2 < size:
            length = (payload[pos] << 8) | payload[pos + 1]
            if payload[pos + 2] & 0x1F in _H264_KEY_NALS:
                return True
            pos += 2 + length
        return False
    if nal == 28 and size >= 2:  # FU-A: the start fragment of a key NAL
        return bool(payload[1] & 0x80) and payload[1] & 0x1F in _H264_KEY_NALS
    return False


def audio_keyframe(payload: bytes) -> bool:
    """Every audio packet can start a stream."""
    return True


def keyframe_detector(mime_type: str) -> KeyframeDetector:
    """The keyframe test for a codec, by MIME type (``video/VP8``, ``video/H264``, audio)."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return vp8_keyframe_start
    if mime == "video/h264":
        return h264_keyframe_start
    if mime.startswith("audio/"):
        return audio_keyframe
    raise ValueError(f"no keyframe detector for {mime_type}")
