"""Frame assembly from real encoded media packetized by aiortc's own payloaders."""

from __future__ import annotations

import itertools
from typing import Any

import av
import pytest

from recording.depacketize import ANNEX_B, Frame, TimestampUnwrapper, depacketizer_for
from signaling.media.model import MediaPacket, TrackInfo
from signaling.media.synthetic import EncodedClip, encode_audio, encode_video
from tests.recording.capture_helpers import H264, OPUS, VP8, packets


@pytest.fixture(scope="module")
def vp8() -> EncodedClip:
    return encode_video(320, 180, fps=15, seconds=2, bitrate=400_000, keyframe_interval=15)


@pytest.fixture(scope="module")
def h264() -> EncodedClip:
    return encode_video(
        320, 180, fps=15, seconds=2, bitrate=400_000, keyframe_interval=15, codec="libx264"
    )


@pytest.fixture(scope="module")
def opus() -> EncodedClip:
    return encode_audio(seconds=1)


def assemble(info: TrackInfo, stream: list[MediaPacket]) -> tuple[list[Frame], Any]:
    depacketizer = depacketizer_for(info.mime_type)
    frames = [frame for packet in stream for frame in depacketizer.push(packet)]
    return frames, depacketizer


def nal_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B buffer (3- or 4-byte start codes)."""
    units = []
    for chunk in data.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00") if chunk.endswith(b"\x00") else chunk
        if chunk:
            units.append(chunk)
    return units


def decode_h264(frames: list[Frame]) -> int:
    decoder: Any = av.CodecContext.create("h264", "r")
    count = 0
    for frame in frames:
        count += len(decoder.decode(av.Packet(frame.data)))
    return count + len(decoder.decode(None))


def test_vp8_frames_come_back_byte_for_byte(vp8: EncodedClip) -> None:
    stream = list(packets(VP8, vp8, len(vp8.frames), start=100.0))
    assert len(stream) > len(vp8.frames)  # keyframes span several packets
    frames, depacketizer = assemble(VP8, stream)
    assert [f.data for f in frames] == [data for data, _ in vp8.frames]
    assert [f.keyframe for f in frames] == [key for _, key in vp8.frames]
    assert not depacketizer.needs_keyframe
    # Timestamps keep growing across the 32-bit wrap the helper starts near.
    steps = {b.timestamp - a.timestamp for a, b in itertools.pairwise(frames)}
    assert steps == {vp8.frame_duration}
    assert frames[-1].timestamp > 1 << 32


def test_h264_single_nal_stap_a_and_fu_a_become_decodable_annex_b(h264: EncodedClip) -> None:
    stream = list(packets(H264, h264, len(h264.frames), start=100.0))
    kinds = {p.payload[0] & 0x1F for p in stream}
    assert {24, 28} <= kinds  # STAP-A (SPS+PPS) and FU-A (large slices) both occur
    assert kinds & set(range(1, 24))  # and single NAL units
    frames, _ = assemble(H264, stream)
    assert len(frames) == len(h264.frames)
    for frame, (data, key) in zip(frames, h264.frames, strict=True):
        assert frame.keyframe == key
        assert frame.data.startswith(ANNEX_B)
        assert nal_units(frame.data) == nal_units(data)
    assert decode_h264(frames) == len(h264.frames)


def test_h264_idr_without_parameter_sets_gets_the_remembered_ones(h264: EncodedClip) -> None:
    def strip_sps_pps(data: bytes) -> bytes:
        return b"".join(ANNEX_B + u for u in nal_units(data) if u[0] & 0x1F not in (7, 8))

    keyframes = [i for i, (_, key) in enumerate(h264.frames) if key]
    second = keyframes[1]
    clip = EncodedClip(
        tuple(
            (strip_sps_pps(data) if i == second else data, key)
            for i, (data, key) in enumerate(h264.frames)
        ),
        h264.frame_duration,
        h264.clock_rate,
    )
    frames, _ = assemble(H264, list(packets(H264, clip, len(clip.frames), start=0.0)))
    types = [u[0] & 0x1F for u in nal_units(frames[second].data)]
    assert types[:2] == [7, 8] and 5 in types
    # The stream from the second IDR on decodes by itself.
    assert decode_h264(frames[second:]) == len(frames) - second


def test_opus_is_one_frame_per_packet(opus: EncodedClip) -> None:
    frames, _ = assemble(OPUS, list(packets(OPUS, opus, len(opus.frames), start=5.0)))
    assert [f.data for f in frames] == [data for data, _ in opus.frames]
    assert frames[1].arrival - frames[0].arrival == pytest.approx(0.02)


@pytest.mark.parametrize("which", ["middle", "last", "first"])
def test_vp8_loss_drops_the_frame_and_waits_for_a_keyframe(vp8: EncodedClip, which: str) -> None:
    stream = list(packets(VP8, vp8, len(vp8.frames), start=0.0))
    # A multi-packet inter frame after the first keyframe.
    by_ts: dict[int, list[int]] = {}
    for i, p in enumerate(stream):
        by_ts.setdefault(p.timestamp, []).append(i)
    groups = list(by_ts.values())
    victim_frame = next(n for n, g in enumerate(groups) if n > 2 and len(g) >= 3)
    assert not vp8.frames[victim_frame][1]
    group = groups[victim_frame]
    lost = {"middle": group[1], "last": group[-1], "first": group[0]}[which]
    frames, depacketizer = assemble(VP8, [p for i, p in enumerate(stream) if i != lost])

    originals = [data for data, _ in vp8.frames]
    next_key = next(n for n, (_, key) in enumerate(vp8.frames) if key and n > victim_frame)
    # Nothing corrupt: every emitted frame is exactly one that was sent, and the frames
    # between the loss and the next keyframe are not emitted.
    assert [f.data for f in frames] == originals[:victim_frame] + originals[next_key:]
    assert depacketizer.frames_dropped >= next_key - victim_frame

    # While waiting, the depacketizer says a keyframe is needed.
    waiting = depacketizer_for(VP8.mime_type)
    cut = [p for i, p in enumerate(stream) if i != lost][: group[-1] + 2]
    for packet in cut:
        waiting.push(packet)
    assert waiting.needs_keyframe


def test_h264_fu_a_loss_never_emits_a_broken_frame(h264: EncodedClip) -> None:
    stream = list(packets(H264, h264, len(h264.frames), start=0.0))
    fu_a = [i for i, p in enumerate(stream) if p.payload[0] & 0x1F == 28 and i > 40]
    lost = fu_a[1]
    frames, depacketizer = assemble(H264, [p for i, p in enumerate(stream) if i != lost])
    sent = {bytes(b"".join(ANNEX_B + u for u in nal_units(d))) for d, _ in h264.frames}
    assert all(f.data in sent for f in frames)
    assert len(frames) < len(h264.frames)
    assert depacketizer.frames_dropped >= 1
    # What was kept still decodes frame for frame.
    assert decode_h264(frames) == len(frames)


def test_duplicates_and_late_packets_are_ignored(opus: EncodedClip) -> None:
    stream = list(packets(OPUS, opus, 10, start=0.0))
    replayed = [*stream[:5], stream[3], *stream[5:]]
    frames, _ = assemble(OPUS, replayed)
    assert len(frames) == 10


def test_timestamp_unwrapper_follows_wrap_and_small_steps_back() -> None:
    unwrap = TimestampUnwrapper()
    values = [0xFFFFFF00, 0xFFFFFFF0, 0x10, 0x08, 0x2000]
    assert [unwrap.extend(v) for v in values] == [
        0xFFFFFF00,
        0xFFFFFFF0,
        (1 << 32) + 0x10,
        (1 << 32) + 0x08,
        (1 << 32) + 0x2000,
    ]


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(ValueError):
        depacketizer_for("video/AV1")
