"""Segment files: real encoded frames muxed (never re-encoded) on the session clock."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

import av
import pytest

from recording.segment_writer import SegmentWriter, container_for, vp8_dimensions
from signaling.media.synthetic import EncodedClip, encode_audio, encode_video
from tests.recording.capture_helpers import decoded_pts_ms


@pytest.fixture(scope="module")
def vp8() -> EncodedClip:
    return encode_video(320, 180, fps=15, seconds=2, bitrate=300_000, keyframe_interval=15)


@pytest.fixture(scope="module")
def h264() -> EncodedClip:
    return encode_video(
        320, 180, fps=15, seconds=2, bitrate=300_000, keyframe_interval=15, codec="libx264"
    )


@pytest.fixture(scope="module")
def opus() -> EncodedClip:
    return encode_audio(seconds=2)


def write_clip(path: Path, mime: str, clip: EncodedClip, start_ms: int) -> tuple[int, str]:
    writer = SegmentWriter(path, mime)
    step = 1000 * clip.frame_duration / clip.clock_rate
    for index, (data, key) in enumerate(clip.frames):
        writer.write(data, start_ms + round(index * step), key, round(step))
    assert writer.start_ms == start_ms
    return writer.close()


def avcc_to_annex_b(data: bytes) -> bytes:
    out = b""
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        out += b"\x00\x00\x00\x01" + data[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return out


def annex_b_units(data: bytes) -> list[bytes]:
    return [u.rstrip(b"\x00") for u in data.split(b"\x00\x00\x01") if u.strip(b"\x00")]


def fragment_decode_times(path: Path) -> list[tuple[int, int]]:
    """(tfdt, timescale) of every fragment of an MP4 file, read from the boxes."""
    data = path.read_bytes()
    timescale = 0
    found: list[tuple[int, int]] = []

    def walk(start: int, end: int) -> None:
        nonlocal timescale
        while start + 8 <= end:
            size, kind = struct.unpack(">I4s", data[start : start + 8])
            size = size or end - start
            if kind in (b"moov", b"trak", b"mdia", b"moof", b"traf"):
                walk(start + 8, start + size)
            elif kind == b"mdhd":
                version = data[start + 8]
                offset = start + (28 if version == 1 else 20)
                timescale = struct.unpack(">I", data[offset : offset + 4])[0]
            elif kind == b"tfdt":
                version = data[start + 8]
                fmt = ">Q" if version == 1 else ">I"
                found.append((struct.unpack_from(fmt, data, start + 12)[0], timescale))
            start += size

    walk(0, len(data))
    return found


@pytest.mark.parametrize(
    ("mime", "clip_name", "frame_ms"),
    [("video/VP8", "vp8", 67), ("audio/opus", "opus", 20), ("video/H264", "h264", 67)],
)
def test_segment_decodes_end_to_end_on_the_session_clock(
    tmp_path: Path, request: pytest.FixtureRequest, mime: str, clip_name: str, frame_ms: int
) -> None:
    clip: EncodedClip = request.getfixturevalue(clip_name)
    path = tmp_path / f"000000.{container_for(mime)}"
    size, sha256 = write_clip(path, mime, clip, start_ms=73_250)
    assert size == path.stat().st_size
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

    pts = decoded_pts_ms(path)
    assert len(pts) == len(clip.frames)  # every frame decodes; nothing was re-encoded
    # Session time, not zero (Opus players trim the 2.5 ms pre-skip of the first frame).
    assert pts[0] == 73_250 or (mime == "audio/opus" and 73_250 < pts[0] <= 73_253)
    assert (
        abs(
            pts[-1]
            - (73_250 + (len(clip.frames) - 1) * 1000 * clip.frame_duration / clip.clock_rate)
        )
        <= 2
    )
    container: Any = av.open(str(path))
    try:
        assert container.format.name.startswith("mov" if mime == "video/H264" else "matroska")
        packets = [p for p in container.demux() if p.size]
        stored = [bytes(p) for p in packets]
        if mime == "video/H264":  # MP4 keeps NAL units length-prefixed, not Annex B
            units = [annex_b_units(avcc_to_annex_b(p)) for p in stored]
            assert units == [annex_b_units(data) for data, _ in clip.frames]
        else:
            assert stored == [data for data, _ in clip.frames]
        if mime.startswith("video/"):
            assert container.streams.video[0].codec_context.width == 320
    finally:
        container.close()


def test_h264_fragments_carry_session_time_for_media_source(
    tmp_path: Path, h264: EncodedClip
) -> None:
    path = tmp_path / "000003.mp4"
    write_clip(path, "video/H264", h264, start_ms=30_000)
    fragments = fragment_decode_times(path)
    assert len(fragments) >= 2  # fragmented: one per keyframe / second
    first, timescale = fragments[0]
    # What MediaSource uses as the buffered start: the first fragment's decode time.
    assert first / timescale == pytest.approx(30.0, abs=0.001)
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and b"moov" in data[:2000] and b"mvex" in data[:2000]


def test_video_segment_must_start_with_a_keyframe(tmp_path: Path, vp8: EncodedClip) -> None:
    writer = SegmentWriter(tmp_path / "x.webm", "video/VP8")
    with pytest.raises(ValueError):
        writer.write(vp8.frames[1][0], 0, False)
    assert not (tmp_path / "x.webm").exists()


def test_timestamps_never_go_backwards(tmp_path: Path, opus: EncodedClip) -> None:
    path = tmp_path / "a.webm"
    writer = SegmentWriter(path, "audio/opus")
    for index, (data, _) in enumerate(opus.frames[:10]):
        writer.write(data, 1000 + (20 * index if index != 5 else 0), True, 20)
    writer.close()
    pts = decoded_pts_ms(path)
    assert pts == sorted(set(pts)) and len(pts) == 10


def test_vp8_dimensions_come_from_the_keyframe_header(vp8: EncodedClip) -> None:
    assert vp8_dimensions(vp8.frames[0][0]) == (320, 180)
    assert vp8_dimensions(vp8.frames[1][0]) is None
    assert container_for("video/H264") == "mp4" and container_for("audio/opus") == "webm"
