"""Recording overhead: server CPU of the same media load without and with recording.

The load is bench/media_forward.py's (rooms of four synthetic aiortc participants, VP8
640x360 ~625 kbps + Opus, each subscribing to the other three) against a server process that
records exactly as a media worker does: a sink per room, a
:class:`recording.track_recorder.TrackRecorder` per track, one
:class:`recording.flusher.RecordingFlusher` for the server, 10 s segments written to a spool
directory. The server's CPU (user + system, every thread: the writer thread counts) comes
from /proc/<pid>/stat; the figure is server CPU per packet received from the publishers.

``--method alternate`` (the default) keeps one server and one load and switches recording
off and on by RPC, in ABBA order, with a few seconds' settling after each switch: both
windows of a pair see the same process, the same connections and nearly the same moment, so
a shared machine's drift mostly cancels out. It prints each window and the median of the
pairs. ``--method separate`` starts a fresh server per run (``forward`` / ``record`` /
``inline``), as the first version of this bench did.

    .venv/bin/python bench/recording_overhead.py                      # 10 rooms, 4 pairs of 20 s
    .venv/bin/python bench/recording_overhead.py --rooms 4 --seconds 10 --repeat 8
    .venv/bin/python bench/recording_overhead.py --offline            # the recorder alone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import logging
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc.codecs.vpx import Vp8Encoder

from bench import media_forward as mf
from recording.flusher import RecordingFlusher
from recording.segment_writer import container_for
from recording.storage import LocalStore, segment_key
from recording.track_recorder import TrackRecorder
from signaling.media import MAIN_ROOM, MediaPacket, SinkHandle, TrackInfo
from signaling.media.sink import PacketTarget
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

    def __init__(
        self, session: int, spool: LocalStore, totals: dict[str, int], flusher: RecordingFlusher
    ) -> None:
        self.session = session
        self.spool = spool
        self.origin = time.time()
        self.totals = totals
        self.flusher = flusher
        self.handle: SinkHandle | None = None
        self.recorders: dict[str, TrackRecorder] = {}
        self.tasks: list[asyncio.Task[None]] = []

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
            flusher=self.flusher,
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

    def packet_target(self, track: TrackInfo) -> PacketTarget:
        return self.recorders[track.track_id].put

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
        self.room_names: list[str] = []
        self.sessions = 0
        # --method alternate starts with recording off and switches it by RPC.
        self.recording = os.environ.get("RECORDING_BENCH_START_OFF") != "1"
        self.totals = {"segments_opened": 0, "segments_closed": 0, "failures": 0}
        self.gc_seconds = 0.0
        self.gc_full = 0
        self._gc_started = 0.0
        gc.callbacks.append(self._gc_timed)
        # One flusher for the server, as RecordingService has one per worker.
        self.flusher = RecordingFlusher(offload=os.environ.get("RECORDING_BENCH_INLINE") != "1")

    async def join(self, room: str, participant: str) -> None:
        self.room_names.append(room)
        if room not in self.rooms and self.recording:
            self._record_room(room)
        await super().join(room, participant)

    def _record_room(self, room: str) -> None:
        self.sessions += 1
        recorder = RoomRecorder(self.sessions, self.spool, self.totals, self.flusher)
        recorder.handle = self.worker.room(room).attach_sink(MAIN_ROOM, recorder)
        self.rooms[room] = recorder

    async def record(self, on: bool) -> None:
        """Start recording every room (a new session each) or stop every recording."""
        if on:
            for room in dict.fromkeys(self.room_names):
                if room not in self.rooms:
                    self._record_room(room)
            return
        rooms, self.rooms = self.rooms, {}
        for recorder in rooms.values():
            await recorder.stop()
            if recorder.handle is not None:
                recorder.handle.detach()

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
            "frame_ms": round(self.flusher.frame_seconds * 1000),
            "file_ms": round(self.flusher.file_seconds * 1000),
            "gc_ms": round(self.gc_seconds * 1000),
            "gc_full": self.gc_full,
        }

    def _gc_timed(self, phase: str, info: dict[str, int]) -> None:
        """gc.callbacks: time spent collecting (recording's garbage is part of its cost)."""
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        self.gc_seconds += time.perf_counter() - self._gc_started
        self.gc_full += info["generation"] == 2

    async def stop(self) -> None:
        await asyncio.gather(*(room.stop() for room in self.rooms.values()))
        await self.flusher.stop()
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


@dataclass
class Window:
    """One measurement window of the alternating method."""

    recording: bool
    seconds: float
    cpu: float
    received: int
    lag_ms: int
    gc_ms: int
    gc_full: int
    frame_ms: int
    file_ms: int

    @property
    def per_received(self) -> float:
        """Server CPU µs per packet received from the publishers."""
        return self.cpu / max(1, self.received) * 1e6


def alternating(
    pairs: int, seconds: float, settle: float
) -> Callable[[mf.Rpc, int], Awaitable[list[Window]]]:
    """The measurement of ``--method alternate``: one server, one load, recording switched
    off and on in ABBA order (off on, on off, ...), ``settle`` s after each switch before a
    window of ``seconds``. Both halves of a pair see the same connections, the same process
    and nearly the same moment, so the machine's drift mostly cancels out."""

    async def measure(rpc: mf.Rpc, pid: int) -> list[Window]:
        windows: list[Window] = []
        for pair in range(pairs):
            for recording in (False, True) if pair % 2 == 0 else (True, False):
                await rpc("record", on=recording)
                await asyncio.sleep(settle)
                before = await rpc("stats")
                cpu0, t0 = mf.cpu_seconds(pid), time.monotonic()
                await asyncio.sleep(seconds)
                cpu1, elapsed = mf.cpu_seconds(pid), time.monotonic() - t0
                after = await rpc("stats")
                windows.append(
                    Window(
                        recording,
                        elapsed,
                        cpu1 - cpu0,
                        after["received"] - before["received"],
                        after["lag_ms"],
                        after["gc_ms"] - before["gc_ms"],
                        after["gc_full"] - before["gc_full"],
                        after["frame_ms"] - before["frame_ms"],
                        after["file_ms"] - before["file_ms"],
                    )
                )
                print(alternating_line(windows[-1]), flush=True)
        await rpc("record", on=False)
        return windows

    return measure


def alternating_line(window: Window) -> str:
    """One window as a table row."""
    per = max(1, window.received) / 1000  # ms of CPU -> µs per packet received
    return (
        f"{'record' if window.recording else 'forward':8} {window.seconds:>5.0f} "
        f"{window.cpu / window.seconds * 60:>9.2f} {window.per_received:>9.1f} "
        f"{window.received / window.seconds:>8.0f} {window.lag_ms:>6} "
        f"{window.gc_ms:>5} {window.gc_full:>4} {window.frame_ms / per:>5.1f} "
        f"{window.file_ms / per:>5.1f}"
    )


def alternating_table(rooms: int, windows: list[Window]) -> str:
    """Every window, then recording's cost per pair and its median."""
    head = (
        f"{'server':8} {'s':>5} {'CPU s/min':>9} {'µs/pkt in':>9} {'pkt in/s':>8} "
        f"{'lag ms':>6} {'GC ms':>5} {'full':>4} {'frame':>5} {'file':>5}"
    )
    lines = [f"{rooms} rooms of four, recording switched off and on in one server", head]
    lines += ["-" * len(head)] + [alternating_line(w) for w in windows]
    added = []
    for first, second in zip(windows[::2], windows[1::2], strict=False):
        off, on = (first, second) if not first.recording else (second, first)
        added.append((on.per_received / off.per_received - 1) * 100)
    if added:
        median = statistics.median(added)
        spread = ""
        if len(added) >= 4:
            low, _, high = statistics.quantiles(added, n=4)
            spread = f", middle half {low:+.1f} to {high:+.1f}"
        lines.append(
            f"recording adds {median:+.1f} % server CPU (median of {len(added)} pairs{spread}; "
            f"pairs: {', '.join(f'{a:+.1f}' for a in added)})"
        )
        on = [w for w in windows if w.recording]
        framing = statistics.median(w.frame_ms / max(1, w.received) * 1000 for w in on)
        files = statistics.median(w.file_ms / max(1, w.received) * 1000 for w in on)
        off = statistics.median(w.per_received for w in windows if not w.recording)
        lines.append(
            f"measured inside the server: framing {framing:.1f} µs/packet on the event loop, "
            f"file work {files:.1f} µs/packet in the writer thread "
            f"({(framing + files) / off * 100:.1f} % of the {off:.0f} µs/packet without "
            "recording; the sink, the queue and the collector's extra work come on top)"
        )
    return "\n".join(lines)


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
            # A flusher's rounds without the event loop or the thread hop: ~what one
            # flush interval holds (0.5 s of the track) per round.
            step = 38 if info.kind == "video" else 25
            for offset in range(0, len(stream), step):
                for packet in stream[offset : offset + step]:
                    recorder.on_packet(packet)
                work = recorder.prepare_batch()
                if work is not None:
                    work()
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
    command = "$ " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    if args.method == "alternate":
        os.environ["RECORDING_BENCH_START_OFF"] = "1"  # inherited by the server process
        measure = alternating(args.repeat, args.seconds, args.settle)
        windows = await mf.run(
            "record", args.rooms, 0, args.warmup, video, audio, "", measure=measure
        )
        print()
        print(command)
        print(offline(video, audio))
        print()
        print(alternating_table(args.rooms, windows))
        return
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
    print(command)
    print(offline(video, audio))
    print()
    print(table(results))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--method",
        choices=["alternate", "separate"],
        default="alternate",
        help="alternate: one server, recording switched off and on (default); "
        "separate: a fresh server per run",
    )
    parser.add_argument(
        "--repeat", type=int, default=4, help="pairs of windows (alternate) or of runs"
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds after each switch (alternate)"
    )
    parser.add_argument("--offline", action="store_true", help="only the recorder-alone figures")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["forward", "record"],
        choices=["forward", "record", "inline"],
        help="inline: record with the file work on the event loop too (no writer thread)",
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
