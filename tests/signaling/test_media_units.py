"""The forwarding path's pieces, without a network."""

from __future__ import annotations

import asyncio
import struct
from itertools import pairwise

import pytest

from signaling.media.config import MediaConfig
from signaling.media.forward import Downstream
from signaling.media.model import TrackInfo
from signaling.media.rtp import (
    h264_keyframe_start,
    keyframe_detector,
    payload_offset,
    seq_diff,
    seq_newer,
    vp8_keyframe_start,
)
from signaling.media.track import PublishedTrack


def rtp(
    seq: int,
    ts: int,
    payload: bytes,
    *,
    ssrc: int = 1,
    pt: int = 96,
    marker: bool = False,
    extension: bytes = b"",
) -> bytes:
    b0 = 0x80 | (0x10 if extension else 0)
    header = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    if extension:
        header += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    return header + payload


VP8_KEY = bytes([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A])
VP8_DELTA = bytes([0x90, 0x80, 0x81, 0x24, 0x11, 0x02, 0x00])
VP8_CONTINUATION = bytes([0x80, 0x80, 0x81, 0x23, 0x10, 0x02])


def test_vp8_keyframes_are_recognised_after_the_descriptor() -> None:
    assert vp8_keyframe_start(VP8_KEY)
    assert not vp8_keyframe_start(VP8_DELTA)
    assert not vp8_keyframe_start(VP8_CONTINUATION)  # S bit clear: not a frame start
    assert vp8_keyframe_start(bytes([0x10, 0x00]))  # no extension byte, 1-byte descriptor
    assert not vp8_keyframe_start(b"")
    assert not vp8_keyframe_start(bytes([0x90, 0x80]))  # truncated


def test_h264_keyframes_idr_sps_stap_a_and_fu_a() -> None:
    assert h264_keyframe_start(bytes([0x67, 0x42]))  # SPS
    assert h264_keyframe_start(bytes([0x65, 0x88]))  # IDR
    assert not h264_keyframe_start(bytes([0x41, 0x9A]))  # non-IDR slice
    stap = bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE])
    assert h264_keyframe_start(stap)
    assert h264_keyframe_start(bytes([0x7C, 0x85, 0x88]))  # FU-A start of an IDR
    assert not h264_keyframe_start(bytes([0x7C, 0x05, 0x88]))  # FU-A middle
    assert keyframe_detector("video/H264") is h264_keyframe_start
    assert keyframe_detector("audio/opus")(b"\x00")
    with pytest.raises(ValueError):
        keyframe_detector("video/AV1")


def test_payload_offset_skips_csrcs_and_extensions() -> None:
    assert payload_offset(rtp(1, 2, b"xy")) == 12
    assert payload_offset(rtp(1, 2, b"xy", extension=b"\x10\xff\x00\x00")) == 20
    with pytest.raises(ValueError):
        payload_offset(b"\x80\x60")
    with pytest.raises(ValueError):
        payload_offset(rtp(1, 2, b"", extension=b"\x10\xff\x00\x00")[:14])  # truncated
    assert seq_newer(2, 65535) and not seq_newer(65535, 2)
    assert seq_diff(2, 65535) == 3 and seq_diff(65535, 2) == -3


class Recorded(Downstream):
    """A downstream that keeps what it emits."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[tuple[int, int, bytes]] = []

    def _emit(self, seq: int, ts: int, b0: int, b1: int, payload: bytes) -> None:
        self.out.append((seq, ts, payload))
        self.packets += 1


class Publisher:
    """A PublishedTrack fed with synthetic VP8 packets; RTCP it sends is recorded."""

    def __init__(self, name: str, config: MediaConfig | None = None) -> None:
        self.rtcp: list[bytes] = []
        self.sent = asyncio.Event()
        info = TrackInfo(f"{name}/camera", name, "camera", "video", "video/VP8", 90000)
        self.track = PublishedTrack(
            info, "1", config or MediaConfig(), self._send, 42, asyncio.get_running_loop()
        )
        self.track.ssrc = 7
        self.track.payload_type = 96
        self.seq = 1000
        self.ts = 5000

    def _send(self, packet: bytes) -> bool:
        self.rtcp.append(packet)
        self.sent.set()
        return True

    def frame(self, key: bool, packets: int = 2, skip: int = 0) -> None:
        for i in range(packets):
            payload = (VP8_KEY if key else VP8_DELTA) if i == 0 else VP8_CONTINUATION
            if skip and i == skip:
                self.seq += 1
                continue
            data = rtp(self.seq & 0xFFFF, self.ts, payload, marker=i == packets - 1)
            self.track.on_rtp(data, 12, data[0], data[1], self.seq & 0xFFFF, self.ts)
            self.seq += 1
        self.ts += 3000

    def pli_count(self) -> int:
        return sum(1 for p in self.rtcp if p[1] == 206 and p[0] & 0x1F == 1)

    def nacked(self) -> list[int]:
        return [struct.unpack_from("!H", p, 12)[0] for p in self.rtcp if p[1] == 205]


async def test_downstream_starts_at_a_keyframe_and_stays_continuous_across_sources() -> None:
    alice, bob = Publisher("alice"), Publisher("bob")
    bob.seq = 40000
    slot = Recorded()
    alice.frame(key=True)
    slot.attach(alice.track)
    alice.frame(key=False)
    assert slot.out == [] and slot.gated == 2  # held back until a keyframe
    alice.frame(key=True)
    alice.frame(key=False)
    assert len(slot.out) == 4 and vp8_keyframe_start(slot.out[0][2])

    slot.attach(bob.track)  # switch publisher: wait for bob's keyframe, then continue
    assert alice.track.downstreams == () and bob.track.downstreams == (slot,)
    bob.frame(key=False)
    bob.frame(key=True)
    bob.frame(key=False)
    seqs = [s for s, _, _ in slot.out]
    assert len(seqs) == 8
    assert all((b - a) & 0xFFFF == 1 for a, b in pairwise(seqs))
    stamps = [t for _, t, _ in slot.out]
    assert all(0 <= (b - a) & 0xFFFFFFFF < 1 << 31 for a, b in pairwise(stamps))
    assert stamps[4] != stamps[3]  # the new source's first frame has a later timestamp


async def test_mute_freezes_the_output_and_unmute_restarts_at_a_keyframe() -> None:
    alice = Publisher("alice")
    slot = Recorded()
    slot.attach(alice.track)
    alice.frame(key=True)
    alice.track.set_muted(True)
    for _ in range(5):
        alice.frame(key=False)
    alice.frame(key=True)
    assert len(slot.out) == 2
    alice.track.set_muted(False)
    alice.frame(key=False)
    alice.frame(key=True)
    seqs = [s for s, _, _ in slot.out]
    assert len(seqs) == 4 and all((b - a) & 0xFFFF == 1 for a, b in pairwise(seqs))
    # Output numbers from before the restart never map onto packets sent while muted.
    slot.on_nack([seqs[0], seqs[1]])
    assert slot.retransmitted == 0
    slot.on_nack([seqs[3]])
    assert slot.retransmitted == 1 and slot.out[-1] == slot.out[3]


async def test_nack_is_answered_from_history_with_the_subscriber_numbering() -> None:
    alice = Publisher("alice")
    slot = Recorded()
    slot.attach(alice.track)
    alice.frame(key=True, packets=3)
    alice.frame(key=False, packets=3)
    lost_seq, _, payload = slot.out[4]
    slot.on_nack([lost_seq, (lost_seq + 1000) & 0xFFFF])
    assert slot.retransmitted == 1 and slot.out[-1] == slot.out[4]
    assert slot.out[-1][2] == payload


async def test_gaps_are_nacked_and_keyframe_requests_are_rate_limited() -> None:
    alice = Publisher("alice", MediaConfig(keyframe_interval=0.2))
    alice.frame(key=True, packets=4, skip=2)
    assert alice.nacked() == [1002]
    alice.frame(key=False)  # the late packet never comes; retries are bounded
    missing = alice.track._missing
    assert 1002 in missing

    slots = [Recorded() for _ in range(5)]
    for slot in slots:
        slot.attach(alice.track)  # each asks for a keyframe
    for slot in slots:
        slot.on_keyframe_request()
    assert alice.pli_count() == 1  # the rest waits for the interval
    loop = asyncio.get_running_loop()
    started = loop.time()
    alice.sent.clear()
    await asyncio.wait_for(alice.sent.wait(), 2)
    assert alice.pli_count() == 2  # one deferred request for all of them
    assert loop.time() - started > 0.1
    alice.track.close()
    assert all(slot.source is None for slot in slots)


async def test_duplicates_and_ssrc_reset_do_not_reach_subscribers() -> None:
    alice = Publisher("alice")
    slot = Recorded()
    slot.attach(alice.track)
    alice.frame(key=True)
    data = rtp(1000, 5000, VP8_KEY)
    alice.track.on_rtp(data, 12, data[0], data[1], 1000, 5000)  # a duplicate
    assert len(slot.out) == 2 and alice.track.duplicates == 1

    alice.track.reset_stream()  # the publisher switched SSRC: new numbering
    alice.seq = 7
    alice.frame(key=False)
    alice.frame(key=True)
    seqs = [s for s, _, _ in slot.out]
    assert len(seqs) == 4 and all((b - a) & 0xFFFF == 1 for a, b in pairwise(seqs))
