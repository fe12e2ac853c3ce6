"""RecordingFlusher: the one task that writes every track recorder of a media worker."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

from recording.flusher import RecordingFlusher
from recording.storage import LocalStore, segment_key
from recording.track_recorder import TrackRecorder
from signaling.media import TrackInfo
from signaling.media.synthetic import EncodedClip, encode_audio
from tests.recording.capture_helpers import OPUS, Collected, decoded_frames, packets


@pytest.fixture(scope="module")
def opus() -> EncodedClip:
    return encode_audio(seconds=2)


def microphone(number: int) -> TrackInfo:
    return TrackInfo(
        f"p{number}/microphone", f"p{number}", "microphone", "audio", OPUS.mime_type, 48000
    )


def recorder(
    number: int, store: LocalStore, events: Collected, flusher: RecordingFlusher
) -> TrackRecorder:
    return TrackRecorder(
        microphone(number),
        time.time(),
        store,
        lambda index: segment_key(3, number, index, "webm"),
        events,
        segment_seconds=60,
        flusher=flusher,
    )


async def test_recorders_sharing_a_flusher_each_get_their_own_files(
    tmp_path: Path, opus: EncodedClip
) -> None:
    store = LocalStore(tmp_path)
    flusher = RecordingFlusher(0.05)
    events = [Collected() for _ in range(3)]
    recorders = [recorder(n, store, events[n], flusher) for n in range(3)]
    for item in recorders:
        await item.start()
    for number, item in enumerate(recorders):
        for packet in packets(OPUS, opus, 10 * (number + 1), time.monotonic()):
            item.on_packet(packet)

    # One recorder stops: its file is closed and reported; the others go on.
    await recorders[0].stop()
    assert len(events[0].closed) == 1
    assert events[1].closed == events[2].closed == []
    for packet in packets(OPUS, opus, 5, time.monotonic() + 1, seq=5000):
        recorders[1].on_packet(packet)

    # The flusher stops before the last recorder does: that recorder still closes its file.
    await recorders[1].stop()
    await flusher.stop()
    await recorders[2].stop()

    frames = [len(decoded_frames(store.path(e.closed[0][1]))) for e in events]
    assert frames == [10, 25, 30]
    assert [e.errors for e in events] == [[], [], []]


async def test_a_full_disk_stops_only_its_own_recorder(tmp_path: Path, opus: EncodedClip) -> None:
    store = LocalStore(tmp_path)
    flusher = RecordingFlusher(0.05)
    full, fine = Collected(), Collected()
    doomed = store.path(segment_key(3, 0, 0, "webm"))
    doomed.parent.mkdir(parents=True, exist_ok=True)
    doomed.symlink_to("/dev/full")  # where recorder 0's first segment goes: ENOSPC
    recorders = [recorder(0, store, full, flusher), recorder(1, store, fine, flusher)]
    for item in recorders:
        await item.start()
    for item in recorders:
        for packet in packets(OPUS, opus, 20, time.monotonic()):
            item.on_packet(packet)
    for item in recorders:
        await item.stop()
    await flusher.stop()

    assert recorders[0].failed and not recorders[1].failed
    assert len(full.errors) == 1 and getattr(full.errors[0], "errno", None) == errno.ENOSPC
    assert full.closed == []
    assert fine.errors == [] and len(decoded_frames(store.path(fine.closed[0][1]))) == 20
