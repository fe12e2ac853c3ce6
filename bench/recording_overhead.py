"""Recording overhead: server CPU of the same media load without and with recording.

The load is bench/media_forward.py's (rooms of four synthetic aiortc participants, VP8
640x360 ~625 kbps + Opus, each subscribing to the other three), run twice in one go against
a server process: ``forward`` (no recording) and ``record`` (every room recorded: a sink per
room and a :class:`recording.track_recorder.TrackRecorder` per track, 10 s segments written
to a spool directory). The server's CPU (all threads: the writer threads count) comes from
/proc/<pid>/stat over the measurement window.

    .venv/bin/python bench/recording_overhead.py                  # 10 rooms, 20 s windows
    .venv/bin/python bench/recording_overhead.py --rooms 1 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc.codecs.vpx import Vp8Encoder

from bench import media_forward as mf
from recording.segment_writer import container_for
from recording.storage import LocalStore, segment_key
from recording.track_recorder import TrackRecorder
from signaling.media import MAIN_ROOM, MediaPacket, SinkHandle, TrackInfo
from signaling.media.synthetic import EncodedClip, encode_audio, encode_video

_VP8 = TrackInfo("bench/camera", "bench", "camera", "video", "video/VP8", 90000)
_OPUS = TrackInfo("bench/microphone", "bench", "microphone", "audio", "audio/opus", 48000)

# -- server side ---------------------------------------------------------------------------


class _Counted:
    """Recorder events: count closed segments."""

    def __init__(self, totals: dict[str, int]) -> None:
        self.totals = totals

    def segment_opened(self, index: int, key: str, start_ms: int) -> None:
        self.totals["segments_opened"] += 1

    def segment_closed(
        self, index: int, key: str, start_ms: int, end_ms: int, size: int, sha256: str
    ) -> None:
        self.totals["segments_closed"] += 1

    def failed(self, error: BaseException) -> None:
        self.totals["failures"] += 1


class RoomRecorder:
    """Records every track of a room's main sub-room (one session)."""

    def __init__(self, session: int, spool: LocalStore, totals: dict[str, int]) -> None:
        self.session = session
        self.spool = spool
        self.origin = time.time()
        self.totals = totals
        self.handle: SinkHandle | None = None
        self.recorders: dict[str, TrackRecorder] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.offload = os.environ.get("RECORDING_BENCH_INLINE") != "1"

    def track_added(self, track: TrackInfo) -> bool:
        number = len(self.recorders) + 1
        container = container_for(track.mime_type)
        recorder = TrackRecorder(
            track,
            self.origin,
            self.spool,
            lambda index: segment_key(self.session, number, index, container),
            _Counted(self.totals),
            request_keyframe=self.request_keyframes,
            offload=self.offload,
        )
        self.recorders[track.track_id] = recorder
        self.tasks.append(asyncio.ensure_future(recorder.start()))
        return True

    def request_keyframes(self) -> None:
        if self.handle is not None:
            self.handle.request_keyframes()

    def track_removed(self, track: TrackInfo) -> None:
        pass

    def on_packet(self, track: TrackInfo, packet: MediaPacket) -> None:
        self.recorders[track.track_id].on_packet(packet)

    async def stop(self) -> None:
        await asyncio.gather(*self.tasks)
        await asyncio.gather(*(r.stop() for r in self.recorders.values()))


class RecordingServer(mf.ForwardServer):
    """The forwarding server with every room recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.spool_dir = Path(tempfile.mkdtemp(prefix="bilin-bench-spool-"))
        self.spool = LocalStore(self.spool_dir)
        self.rooms: dict[str, RoomRecorder] = {}
        self.totals = {"segments_opened": 0, "segments_closed": 0, "failures": 0}

    async def join(self, room: str, participant: str) -> None:
        if room not in self.rooms:
            recorder = RoomRecorder(len(self.rooms) + 1, self.spool, self.totals)
            recorder.handle = self.worker.room(room).attach_sink(MAIN_ROOM, recorder)
            self.rooms[room] = recorder
        await super().join(room, participant)

    def stats(self) -> dict[str, int]:
        written = sum(f.stat().st_size for f in self.spool_dir.rglob("*") if f.is_file())
        recorders = [r for room in self.rooms.values() for r in room.recorders.values()]
        return {
            **super().stats(),
            **self.totals,
            "recorded_bytes": written,
            "recorded_frames": sum(r.stats.frames for r in recorders),
            "recorder_drops": sum(r.stats.packets_dropped for r in recorders),
            "tracks_recorded": len(recorders),
        }

    async def stop(self) -> None:
        await asyncio.gather(*(room.stop() for room in self.rooms.values()))
        await super().stop()
        shutil.rmtree(self.spool_dir, ignore_errors=True)


# -- report --------------------------------------------------------------------------------


def table(results: list[mf.Result]) -> str:
    """One line per run; ``added %`` compares server CPU per packet received from the
    publishers (the work recording scales with) with the mean of the ``forward`` runs."""
    head = (
        f"{'server':8} {'rooms':>5} {'CPU s/min':>9} {'µs/pkt in':>9} {'µs/pkt out':>10} "
        f"{'added %':>7} {'written kB/s':>12} {'loss %':>6} {'lag ms':>6}"
    )
    lines = [head, "-" * len(head)]
    plain = [per_received(r) for r in results if r.mode == "forward"]
    base = sum(plain) / len(plain) if plain else 0.0
    for r in results:
        recording = r.mode != "forward" and base
        added = f"{(per_received(r) / base - 1) * 100:+.1f}" if recording else ""
        written = r.server_counters.get("recorded_bytes", 0) / r.seconds / 1000
        lines.append(
            f"{r.mode:8} {r.rooms:>5} {r.server_cpu / r.seconds * 60:>9.2f} "
            f"{per_received(r):>9.1f} {r.us_per_packet:>10.1f} {added:>7} {written:>12.1f} "
            f"{r.loss * 100:>6.2f} {r.server_counters.get('server_lag_ms', 0):>6}"
        )
    return "\n".join(lines)


def per_received(result: mf.Result) -> float:
    """Server CPU µs per packet received from publishers in the window."""
    return result.server_cpu / max(1, result.server_counters.get("received", 0)) * 1e6


def offline(video: EncodedClip, audio: EncodedClip, seconds: int = 60) -> str:
    """CPU per packet of the recorder's worker side alone (frame assembly, muxing, hashing),
    fed a minute of packets directly: no network, so it varies less with the machine's load."""
    spool = Path(tempfile.mkdtemp(prefix="bilin-bench-offline-"))
    lines = [f"{'track':11} {'packets':>8} {'frames':>7} {'µs/packet':>9} {'µs/frame':>8}"]
    try:
        for number, (info, clip) in enumerate(((_VP8, video), (_OPUS, audio)), 1):
            count = seconds * clip.clock_rate // clip.frame_duration
            stream = list(_packets(info, clip, count))
            recorder = TrackRecorder(
                info,
                time.time(),
                LocalStore(spool),
                functools.partial(_key, number),
                _Counted({"segments_opened": 0, "segments_closed": 0, "failures": 0}),
            )
            start = time.process_time()
            # The worker side directly (private on purpose: no event loop, no thread hop).
            for offset in range(0, len(stream), 200):  # ~what one flush interval holds
                recorder._process(list(stream[offset : offset + 200]))
            recorder._close_segment([])
            used = time.process_time() - start
            lines.append(
                f"{info.mime_type:11} {len(stream):>8} {recorder.stats.frames:>7} "
                f"{used / len(stream) * 1e6:>9.2f} {used / recorder.stats.frames * 1e6:>8.2f}"
            )
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    return "\n".join(lines)


def _key(track: int, index: int) -> str:
    return segment_key(1, track, index, "webm")


def _packets(info: TrackInfo, clip: EncodedClip, count: int) -> list[MediaPacket]:
    """Packets of ``count`` frames of ``clip`` as aiortc packetizes them."""
    out = []
    seq = 0
    start = time.monotonic()
    for index in range(count):
        frame, _ = clip.frames[index % len(clip.frames)]
        video = info.kind == "video"
        parts = Vp8Encoder._packetize(frame, index & 0x7FFF) if video else [frame]
        arrival = start + index * clip.frame_duration / clip.clock_rate
        for n, payload in enumerate(parts):
            ts = (index * clip.frame_duration) & 0xFFFFFFFF
            out.append(MediaPacket(seq & 0xFFFF, ts, n == len(parts) - 1, payload, arrival))
            seq += 1
    return out


async def main(args: argparse.Namespace) -> None:
    video = encode_video(640, 360, fps=30, seconds=4, bitrate=625_000, keyframe_interval=60)
    audio = encode_audio(seconds=4)
    print(offline(video, audio), flush=True)
    if args.offline:
        return
    # media_forward.run starts ``<its __file__> --serve <mode>``: point it at this script.
    mf.__file__ = __file__
    results = []
    for _ in range(args.repeat):
        for mode in args.modes:
            try:
                result = await mf.run(mode, args.rooms, args.seconds, args.warmup, video, audio, "")
            except TimeoutError:
                # media_forward gives the clients 60 s to get media: a busy machine.
                print(f"{mode}: timed out setting up the rooms (machine busy?)", flush=True)
                continue
            results.append(result)
            print(table([result]).splitlines()[-1], result.server_counters, flush=True)
    print()
    print("$ " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(offline(video, audio))
    print()
    print(table(results))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs N times")
    parser.add_argument("--offline", action="store_true", help="only the recorder-alone figures")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["forward", "record"],
        choices=["forward", "record", "inline"],
        help="inline: record without the writer thread (frames muxed in the recorder's task)",
    )
    parser.add_argument("--serve", choices=["forward", "record", "inline"], help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    logging.basicConfig(level=logging.WARNING)
    if arguments.serve:
        if arguments.serve in ("record", "inline"):
            mf.ForwardServer = RecordingServer  # type: ignore[misc]
        if arguments.serve == "inline":
            os.environ["RECORDING_BENCH_INLINE"] = "1"
        profile = os.environ.get("RECORDING_BENCH_PROFILE")
        if profile and arguments.serve == "record":
            import cProfile

            profiler = cProfile.Profile()
            profiler.runcall(asyncio.run, mf.serve("forward", arguments.socket))
            profiler.dump_stats(profile)
        else:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(mf.serve("forward", arguments.socket))
    else:
        asyncio.run(main(arguments))
