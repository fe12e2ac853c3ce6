"""Child process of the SIGKILL test: records a live-paced camera and microphone until killed.

``python -m tests.recording.crash_child <spool dir> <session origin epoch s>``. Prints one
JSON line per event (``opened``, ``closed``) and a ``fed`` line with the session time each
quarter second. The video track cuts every 10 s, the audio track every 2 s.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from recording.storage import LocalStore, segment_key
from recording.track_recorder import TrackRecorder
from signaling.media.synthetic import encode_audio, encode_video
from tests.recording.capture_helpers import OPUS, VP8, packets


class Printed:
    def __init__(self, track: str) -> None:
        self.track = track

    def segment_opened(self, index: int, key: str, start_ms: int) -> None:
        say(event="opened", track=self.track, index=index, key=key, start_ms=start_ms)

    def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> None:
        say(event="closed", track=self.track, key=key, size=size, sha256=sha256, end_ms=end_ms)

    def failed(self, error: BaseException) -> None:
        say(event="failed", track=self.track, error=str(error))


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(spool: Path, origin: float) -> None:
    video = encode_video(320, 180, fps=15, seconds=2, bitrate=300_000, keyframe_interval=15)
    audio = encode_audio(seconds=2)
    store = LocalStore(spool)
    recorders = {
        "video": TrackRecorder(
            VP8, origin, store, lambda i: segment_key(1, 1, i, "webm"), Printed("video")
        ),
        "audio": TrackRecorder(
            OPUS,
            origin,
            store,
            lambda i: segment_key(1, 2, i, "webm"),
            Printed("audio"),
            segment_seconds=2.0,
        ),
    }
    for recorder in recorders.values():
        await recorder.start()
    start = time.monotonic()
    stream = sorted(
        [("video", p) for p in packets(VP8, video, 60 * 15, start)]
        + [("audio", p) for p in packets(OPUS, audio, 60 * 50, start)],
        key=lambda item: item[1].arrival,
    )
    offset = time.time() - time.monotonic()
    next_report = start
    for track, packet in stream:
        delay = packet.arrival - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        recorders[track].on_packet(packet)
        if packet.arrival >= next_report:
            next_report += 0.25
            say(event="fed", ms=round((packet.arrival + offset - origin) * 1000))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
