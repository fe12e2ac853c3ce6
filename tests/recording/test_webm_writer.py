"""WebmSegmentWriter: WebM written directly, frame by frame, hashed as it is written."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from recording.depacketize import depacketizer_for
from recording.webm_writer import WebmSegmentWriter
from signaling.media.synthetic import EncodedClip, encode_audio, encode_video
from tests.recording.capture_helpers import OPUS, VP8, decoded_frames, packets


@pytest.fixture(scope="module")
def vp8() -> EncodedClip:
    return encode_video(320, 180, fps=15, seconds=2, bitrate=200_000, keyframe_interval=15)


@pytest.fixture(scope="module")
def opus() -> EncodedClip:
    return encode_audio(seconds=2)


def frames_of(mime: str, clip: EncodedClip, count: int) -> list[tuple[bytes, bool]]:
    """``count`` whole frames of ``clip`` as the recorder assembles them from packets."""
    info = VP8 if mime == "video/VP8" else OPUS
    assembled = depacketizer_for(mime).push_many(packets(info, clip, count, 0.0))
    return [(frame.data, frame.keyframe) for frame in assembled]


def test_every_frame_plays_at_its_session_time_and_the_hash_is_the_files(
    tmp_path: Path, vp8: EncodedClip, opus: EncodedClip
) -> None:
    for mime, clip, step in (("video/VP8", vp8, 66), ("audio/opus", opus, 20)):
        frames = frames_of(mime, clip, 45)
        path = tmp_path / f"{mime.replace('/', '-')}.webm"
        writer = WebmSegmentWriter(path, mime)
        start = 3_600_000  # an hour into the session
        for number, (data, keyframe) in enumerate(frames):
            writer.write(data, start + number * step, keyframe, step)
            if number % 10 == 9:
                writer.flush()
        size, digest = writer.close()

        content = path.read_bytes()
        assert (size, digest) == (len(content), hashlib.sha256(content).hexdigest())
        decoded = decoded_frames(path)
        assert [ms for ms, _ in decoded] == [start + n * step for n in range(len(frames))]
        assert writer.start_ms == start
        assert writer.end_ms == start + len(frames) * step
        if mime == "video/VP8":
            assert [key for _, key in decoded] == [key for _, key in frames]


def test_what_was_flushed_plays_without_close(tmp_path: Path, vp8: EncodedClip) -> None:
    """A killed process never closes its files: what was flushed must play as it is."""
    path = tmp_path / "open.webm"
    writer = WebmSegmentWriter(path, "video/VP8")
    frames = frames_of("video/VP8", vp8, 30)
    for number, (data, keyframe) in enumerate(frames[:20]):
        writer.write(data, 1000 + number * 66, keyframe, 66)
    writer.flush()
    for number, (data, keyframe) in enumerate(frames[20:], 20):
        writer.write(data, 1000 + number * 66, keyframe, 66)  # framed, never flushed
    assert [ms for ms, _ in decoded_frames(path)] == [1000 + n * 66 for n in range(20)]
    writer.abort()


def test_timestamps_only_grow_and_never_go_below_zero(tmp_path: Path, opus: EncodedClip) -> None:
    path = tmp_path / "a.webm"
    writer = WebmSegmentWriter(path, "audio/opus")
    frames = frames_of("audio/opus", opus, 4)
    for (data, keyframe), ms in zip(frames, (-40, -20, 500, 500), strict=True):
        writer.write(data, ms, keyframe, 20)
    writer.close()
    assert [ms for ms, _ in decoded_frames(path)] == [0, 1, 500, 501]


def test_a_video_segment_must_start_with_a_keyframe(tmp_path: Path, vp8: EncodedClip) -> None:
    inter = next(data for data, keyframe in frames_of("video/VP8", vp8, 5) if not keyframe)
    with pytest.raises(ValueError, match="keyframe"):
        WebmSegmentWriter(tmp_path / "v.webm", "video/VP8").write(inter, 0, False)
    with pytest.raises(ValueError, match="WebM"):
        WebmSegmentWriter(tmp_path / "h.webm", "video/H264")


def test_a_full_disk_surfaces_at_flush(tmp_path: Path, opus: EncodedClip) -> None:
    path = tmp_path / "full.webm"
    path.symlink_to("/dev/full")  # every write: ENOSPC
    writer = WebmSegmentWriter(path, "audio/opus")
    for number, (data, keyframe) in enumerate(frames_of("audio/opus", opus, 5)):
        writer.write(data, number * 20, keyframe, 20)  # framing never touches the disk
    with pytest.raises(OSError) as raised:
        writer.flush()
    assert raised.value.errno == errno.ENOSPC
    writer.abort()
