"""TrackRecorder: packets in, ~10 s segment files on the session clock out."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import time
from pathlib import Path

import pytest

from recording.segment_writer import SegmentWriter
from recording.storage import LocalStore, segment_key
from recording.track_recorder import TrackRecorder
from signaling.media import MAIN_ROOM, MediaPacket, SinkHandle, TrackInfo
from signaling.media.synthetic import (
    EncodedClip,
    SyntheticParticipant,
    encode_audio,
    encode_video,
)
from tests.recording.capture_helpers import (
    H264,
    OPUS,
    VP8,
    Collected,
    decoded_frames,
    monotonic_of_session,
    packets,
    until,
)
from tests.signaling.conftest import Media, audio_clip, media, video_clip

# The SFU fixtures of the media tests, used here with a recorder sink.
__all__ = ["audio_clip", "media", "video_clip"]


@pytest.fixture(scope="module")
def vp8() -> EncodedClip:
    return encode_video(320, 180, fps=15, seconds=2, bitrate=200_000, keyframe_interval=15)


@pytest.fixture(scope="module")
def h264() -> EncodedClip:
    return encode_video(
        320, 180, fps=15, seconds=2, bitrate=200_000, keyframe_interval=15, codec="libx264"
    )


@pytest.fixture(scope="module")
def opus() -> EncodedClip:
    return encode_audio(seconds=2)


class Keyframes:
    def __init__(self) -> None:
        self.requests = 0
        self.asked = asyncio.Event()

    def __call__(self) -> None:
        self.requests += 1
        self.asked.set()


def recorder_for(
    info: TrackInfo,
    store: LocalStore,
    origin: float,
    events: Collected,
    **options: object,
) -> TrackRecorder:
    container = "mp4" if info.mime_type == "video/H264" else "webm"
    track = {"v1": 1, "h1": 2, "a1": 3}[info.track_id]
    return TrackRecorder(
        info,
        origin,
        store,
        lambda index: segment_key(7, track, index, container),
        events,
        flush_interval=0.01,
        **options,  # type: ignore[arg-type]
    )


async def test_video_segments_cut_at_keyframes_about_every_ten_seconds(
    tmp_path: Path, vp8: EncodedClip
) -> None:
    store, events, keyframes = LocalStore(tmp_path), Collected(), Keyframes()
    origin = time.time() - 60  # the session started a minute ago
    recorder = recorder_for(VP8, store, origin, events, request_keyframe=keyframes)
    await recorder.start()
    start = monotonic_of_session(origin, 12_345)
    stream = list(packets(VP8, vp8, 25 * 15, start))
    # Fed in three parts, each after the previous cut, so requests are not coalesced.
    first_after = [i for i, p in enumerate(stream) if p.arrival >= start + 10.5]
    second_after = [i for i, p in enumerate(stream) if p.arrival >= start + 20.5]
    for packet in stream[: first_after[0]]:
        recorder.on_packet(packet)
    await until(lambda: len(events.opened) == 2, events.changed)
    for packet in stream[first_after[0] : second_after[0]]:
        recorder.on_packet(packet)
    await until(lambda: len(events.opened) == 3, events.changed)
    for packet in stream[second_after[0] :]:
        recorder.on_packet(packet)
    await recorder.stop()

    assert not events.errors
    assert [c[0] for c in events.closed] == [0, 1, 2]
    assert [o[:2] for o in events.opened] == [c[:2] for c in events.closed]
    starts = [c[2] for c in events.closed]
    assert abs(starts[0] - 12_345) <= 5  # session clock: where the first frame arrived
    for (_, _, s, end, _, _), nxt in zip(events.closed, starts[1:], strict=False):
        assert end == nxt  # contiguous: one segment ends where the next starts
        assert 9_500 <= end - s <= 10_100
    assert keyframes.requests >= 2  # asked before each cut
    for index, key, start_ms, end_ms, size, sha256 in events.closed:
        path = store.path(key)
        assert key == segment_key(7, 1, index, "webm")
        assert size == path.stat().st_size
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        frames = decoded_frames(path)
        assert frames[0] == (start_ms, True)  # every segment starts on a keyframe
        assert all(start_ms <= pts < end_ms for pts, _ in frames)
    total = sum(len(decoded_frames(store.path(c[1]))) for c in events.closed)
    assert total == 25 * 15  # nothing lost at the cuts


async def test_audio_cuts_at_ten_seconds_on_a_frame_boundary(
    tmp_path: Path, opus: EncodedClip
) -> None:
    store, events = LocalStore(tmp_path), Collected()
    origin = time.time()
    recorder = recorder_for(OPUS, store, origin, events)
    await recorder.start()
    for packet in packets(OPUS, opus, 25 * 50, monotonic_of_session(origin, 1_000)):
        recorder.on_packet(packet)
    await recorder.stop()
    spans = [(c[2], c[3]) for c in events.closed]
    assert abs(spans[0][0] - 1_000) <= 5
    assert [end - start for start, end in spans[:2]] == [10_000, 10_000]
    assert spans[2][1] - spans[2][0] == 5_000  # the last frame's 20 ms included
    for _, key, start_ms, end_ms, *_ in events.closed:
        pts = [p for p, _ in decoded_frames(store.path(key))]
        assert start_ms <= pts[0] <= start_ms + 3 and pts[-1] == end_ms - 20


async def test_h264_goes_to_fragmented_mp4_that_plays(tmp_path: Path, h264: EncodedClip) -> None:
    store, events = LocalStore(tmp_path), Collected()
    origin = time.time()
    recorder = recorder_for(H264, store, origin, events, segment_seconds=2.0)
    assert recorder.container == "mp4"
    await recorder.start()
    for packet in packets(H264, h264, 5 * 15, monotonic_of_session(origin, 4_000)):
        recorder.on_packet(packet)
    await recorder.stop()
    assert len(events.closed) == 3
    decoded = 0
    for _, key, start_ms, _, _, _ in events.closed:
        assert key.endswith(".mp4")
        frames = decoded_frames(store.path(key))
        assert frames[0] == (start_ms, True)
        decoded += len(frames)
    assert decoded == 5 * 15


async def test_audio_and_video_of_one_participant_line_up(
    tmp_path: Path, vp8: EncodedClip, opus: EncodedClip
) -> None:
    store, events_v, events_a = LocalStore(tmp_path), Collected(), Collected()
    origin = time.time()
    video = recorder_for(VP8, store, origin, events_v)
    audio = recorder_for(OPUS, store, origin, events_a)
    await video.start()
    await audio.start()
    # Both start arriving 3 s into the session; RTP timestamps have unrelated origins.
    start = monotonic_of_session(origin, 3_000)
    for packet in packets(VP8, vp8, 6 * 15, start, ts=123):
        video.on_packet(packet)
    for packet in packets(OPUS, opus, 6 * 50, start, ts=4_000_000_000):
        audio.on_packet(packet)
    await video.stop()
    await audio.stop()
    v = decoded_frames(store.path(events_v.closed[0][1]))
    a = decoded_frames(store.path(events_a.closed[0][1]))
    assert abs(v[0][0] - a[0][0]) <= 50
    assert abs(v[-1][0] - a[-1][0]) <= 50 + 67  # last frames: one video frame apart at most


async def test_pause_writes_nothing_and_resume_starts_at_a_keyframe(
    tmp_path: Path, vp8: EncodedClip
) -> None:
    store, events, keyframes = LocalStore(tmp_path), Collected(), Keyframes()
    origin = time.time()
    recorder = recorder_for(VP8, store, origin, events, request_keyframe=keyframes)
    await recorder.start()
    stream = list(packets(VP8, vp8, 8 * 15, monotonic_of_session(origin, 0)))
    per_second = len(stream) // 8
    for packet in stream[: 2 * per_second]:
        recorder.on_packet(packet)
    recorder.pause()
    assert recorder.paused
    for packet in stream[2 * per_second : 5 * per_second]:
        recorder.on_packet(packet)  # ignored
    asked = keyframes.requests
    # Resume in the middle of a group of pictures: what follows is not a keyframe.
    middle = 5 * per_second + per_second // 2
    recorder.resume()
    assert keyframes.requests == asked + 1
    for packet in stream[middle:]:
        recorder.on_packet(packet)
    await recorder.stop()

    assert [c[0] for c in events.closed] == [0, 1]
    first = decoded_frames(store.path(events.closed[0][1]))
    second = decoded_frames(store.path(events.closed[1][1]))
    assert first[-1][0] < 2_000
    assert second[0][1] and second[0][0] >= 6_000  # the next keyframe after resuming
    assert events.closed[1][2] == second[0][0]


async def test_loss_drops_frames_until_a_requested_keyframe(
    tmp_path: Path, vp8: EncodedClip
) -> None:
    store, events, keyframes = LocalStore(tmp_path), Collected(), Keyframes()
    origin = time.time()
    recorder = recorder_for(VP8, store, origin, events, request_keyframe=keyframes)
    await recorder.start()
    stream = list(packets(VP8, vp8, 3 * 15, monotonic_of_session(origin, 0)))
    timestamps = list(dict.fromkeys(p.timestamp for p in stream))  # frame order
    next_keyframe = next(i for i, p in enumerate(stream) if p.timestamp == timestamps[15])
    lost = next_keyframe // 2  # within the first second's inter frames
    # The rest of that second arrives; the recorder asks for a keyframe before the next
    # one (a second later) is sent.
    for packet in stream[:lost] + stream[lost + 1 : next_keyframe]:
        recorder.on_packet(packet)
    await asyncio.wait_for(keyframes.asked.wait(), 10)
    for packet in stream[next_keyframe:]:
        recorder.on_packet(packet)
    await recorder.stop()
    assert recorder.stats.frames_dropped >= 1
    frames = decoded_frames(store.path(events.closed[0][1]))
    assert len(frames) == recorder.stats.frames < 3 * 15


class FullDisk(SegmentWriter):
    """A writer whose disk fills up after a few frames."""

    writes = 0

    def write(self, data: bytes, pts_ms: int, keyframe: bool, duration_ms: int = 0) -> None:
        FullDisk.writes += 1
        if FullDisk.writes > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(data, pts_ms, keyframe, duration_ms)


async def test_a_full_disk_is_reported_and_the_recorder_stops_writing(
    tmp_path: Path, opus: EncodedClip
) -> None:
    store, events = LocalStore(tmp_path), Collected()
    FullDisk.writes = 0
    recorder = recorder_for(OPUS, store, time.time(), events, writer_factory=FullDisk)
    await recorder.start()
    for packet in packets(OPUS, opus, 100, time.monotonic()):
        recorder.on_packet(packet)  # never raises
    await recorder.stop()
    assert recorder.failed
    assert len(events.errors) == 1
    error = events.errors[0]
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert events.closed == []
    for packet in packets(OPUS, opus, 10, time.monotonic()):
        recorder.on_packet(packet)  # still harmless afterwards


# -- through a real SFU room ----------------------------------------------------------------


class RecordingSink:
    """A minimal recorder sink: one TrackRecorder per track of the sub-room."""

    def __init__(
        self, store: LocalStore, origin: float, writer_factory: type[SegmentWriter]
    ) -> None:
        self.store = store
        self.origin = origin
        self.writer_factory = writer_factory
        self.handle: SinkHandle | None = None
        self.recorders: dict[str, TrackRecorder] = {}
        self.events: dict[str, Collected] = {}
        self.last: dict[str, MediaPacket] = {}
        self.changed = asyncio.Event()
        self._starts: list[asyncio.Task[None]] = []

    def track_added(self, track: TrackInfo) -> bool:
        container = "mp4" if track.mime_type == "video/H264" else "webm"
        number = len(self.recorders) + 1
        events = self.events[track.track_id] = Collected()
        events.changed = self.changed
        recorder = TrackRecorder(
            track,
            self.origin,
            self.store,
            lambda index: segment_key(1, number, index, container),
            events,
            request_keyframe=self.request_keyframes,
            segment_seconds=2.0,
            writer_factory=self.writer_factory,
        )
        self.recorders[track.track_id] = recorder
        self._starts.append(asyncio.ensure_future(recorder.start()))
        return True

    def request_keyframes(self) -> None:
        if self.handle is not None:
            self.handle.request_keyframes()

    def track_removed(self, track: TrackInfo) -> None:
        pass

    def on_packet(self, track: TrackInfo, packet: MediaPacket) -> None:
        self.recorders[track.track_id].on_packet(packet)
        self.last[track.track_id] = packet

    async def stop(self) -> None:
        await asyncio.gather(*self._starts)
        await asyncio.gather(*(r.stop() for r in self.recorders.values()))


@pytest.fixture(scope="module")
def rare_keyframes() -> EncodedClip:
    """Four seconds of VP8 with a single keyframe: cuts need requested keyframes."""
    return encode_video(320, 180, fps=15, seconds=4, bitrate=200_000, keyframe_interval=60)


async def test_recording_a_live_room_through_the_sfu(
    tmp_path: Path, media: Media, rare_keyframes: EncodedClip
) -> None:
    room = media.worker.room("recorded")
    store = LocalStore(tmp_path)
    sink = RecordingSink(store, time.time(), SegmentWriter)
    sink.handle = room.attach_sink(MAIN_ROOM, sink)
    _, alice = await media.join(room, "alice", video=rare_keyframes)
    _, bob = await media.join(room, "bob", publish=False)
    assert alice.video_track is not None

    # A cut every 2 s needs keyframes on request (the clip has one per 4 s).
    await until(lambda: len(sink.events["alice/camera"].opened) >= 3, sink.changed, within=15)
    sink.handle.detach()
    await sink.stop()

    assert alice.video_track.keyframe_requests >= 2
    assert bob.packets_by_track["alice/camera"] > 0
    offsets = {}
    for track_id, events in sink.events.items():
        assert not events.errors
        assert len(events.closed) >= 2
        for _, key, start_ms, end_ms, _, _ in events.closed:
            frames = decoded_frames(store.path(key))
            assert frames and frames[0][0] <= start_ms + 3 and frames[-1][0] < end_ms
            if track_id == "alice/camera":
                assert frames[0][1]  # starts on a keyframe
                assert 1_400 <= end_ms - start_ms <= 3_000 or key == events.closed[-1][1]
        # Where the last frame landed on the session clock vs when it arrived.
        last = decoded_frames(store.path(events.closed[-1][1]))[-1][0]
        arrival_ms = (sink.last[track_id].arrival + time.time() - time.monotonic()) * 1000
        offsets[track_id] = last - (arrival_ms - sink.origin * 1000)
    assert set(offsets) == {"alice/camera", "alice/microphone"}
    # Audio and video of one participant line up within 50 ms.
    assert abs(offsets["alice/camera"] - offsets["alice/microphone"]) <= 50
    assert all(abs(o) <= 100 for o in offsets.values())


async def test_a_full_disk_does_not_disturb_forwarding(tmp_path: Path, media: Media) -> None:
    room = media.worker.room("full-disk")
    FullDisk.writes = 0
    sink = RecordingSink(LocalStore(tmp_path), time.time(), FullDisk)
    sink.handle = room.attach_sink(MAIN_ROOM, sink)
    await media.join(room, "alice")
    _, bob = await media.join(room, "bob", publish=False)
    await until(lambda: any(e.errors for e in sink.events.values()), sink.changed, within=15)
    received = bob.packets_by_track["alice/camera"]
    await until_packets(bob, "alice/camera", received + 45)
    assert bob.packets_by_track["alice/microphone"] > 0
    failed = [r for r in sink.recorders.values() if r.failed]
    assert failed and all(isinstance(e, OSError) for ev in sink.events.values() for e in ev.errors)
    sink.handle.detach()
    await sink.stop()


async def until_packets(client: SyntheticParticipant, track_id: str, count: int) -> None:
    async with asyncio.timeout(10):
        while client.packets_by_track[track_id] < count:
            client.packet_event.clear()
            await client.packet_event.wait()
