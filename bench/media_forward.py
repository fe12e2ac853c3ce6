"""Media forwarding benchmark: server CPU per forwarded packet, per participant, memory, loss.

Rooms of four synthetic participants (aiortc clients replaying pre-encoded VP8 ~625 kbps and
Opus, encoded once) each subscribe to the other three. The server runs in its own process,
so its CPU time is read from /proc/<pid>/stat for that process only. Two servers are
measured on the same load:

- ``forward``: signaling.media (packet-level forwarding, nothing decoded);
- ``relay``:   aiortc's ``MediaRelay`` feeding ``RTCRtpSender`` with decoded frames
               (decode once per publisher, re-encode per subscriber).

    .venv/bin/python bench/media_forward.py                       # 1, 5, 10 rooms + relay at 1
    .venv/bin/python bench/media_forward.py --rooms 1 --seconds 10 --relay-rooms 1

The server and the load generator talk JSON lines over a Unix socket (the signalling
stand-in); media flows over UDP on the host's own address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import shlex
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from signaling.media import (
    MAIN_ROOM,
    MediaConfig,
    MediaWorker,
    Participant,
    glue,
)
from signaling.media.model import SlotInfo, SubscribeOffer, TrackInfo
from signaling.media.synthetic import (
    EncodedClip,
    SyntheticParticipant,
    encode_audio,
    encode_video,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- server side ---------------------------------------------------------------------------


class ForwardServer:
    """signaling.media behind the JSON-lines protocol."""

    def __init__(self) -> None:
        self.worker = MediaWorker(MediaConfig())
        self.participants: dict[str, Participant] = {}

    async def start(self) -> None:
        await self.worker.start()

    async def join(self, room: str, participant: str) -> None:
        self.participants[participant] = self.worker.room(room).join(
            participant, "party", participant, MAIN_ROOM
        )

    async def publish(self, participant: str, sdp: str) -> str:
        return await self.participants[participant].publish_answer(sdp)

    async def subscribe_offer(self, participant: str) -> dict[str, Any] | None:
        offer = await self.participants[participant].subscribe_offer()
        if offer is None:
            return None
        return {
            "sdp": offer.sdp,
            "slots": [
                {"mid": s.mid, "kind": s.kind, "track": s.track.__dict__ if s.track else None}
                for s in offer.slots
            ],
        }

    async def subscribe_answer(self, participant: str, sdp: str) -> None:
        await self.participants[participant].subscribe_answer(sdp)

    def stats(self) -> dict[str, int]:
        sent = dropped = received = lost = 0
        for p in self.participants.values():
            stats = p.stats()
            sent += sum(s.packets for s in stats.subscribed)
            dropped += sum(s.dropped for s in stats.subscribed)
            received += sum(t.packets for t in stats.published)
            lost += sum(t.lost for t in stats.published)
        return {"sent": sent, "dropped": dropped, "received": received, "lost": lost}

    async def stop(self) -> None:
        await self.worker.stop()


class RelayServer:
    """aiortc's decode/re-encode relay: MediaRelay feeding RTCRtpSender with frames."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.rooms: dict[str, list[str]] = {}
        self.publish_pcs: dict[str, RTCPeerConnection] = {}
        self.subscribe_pcs: dict[str, RTCPeerConnection] = {}
        self.tracks: dict[str, list[MediaStreamTrack]] = {}
        self.room_of: dict[str, str] = {}

    async def start(self) -> None:
        pass

    async def join(self, room: str, participant: str) -> None:
        config = glue.rtc_configuration(())
        self.rooms.setdefault(room, []).append(participant)
        self.room_of[participant] = room
        self.publish_pcs[participant] = pc = RTCPeerConnection(config)
        self.subscribe_pcs[participant] = RTCPeerConnection(config)
        self.tracks[participant] = []

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self.tracks[participant].append(track)

    async def publish(self, participant: str, sdp: str) -> str:
        pc = self.publish_pcs[participant]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def subscribe_offer(self, participant: str) -> dict[str, Any] | None:
        pc = self.subscribe_pcs[participant]
        slots = []
        for other in self.rooms[self.room_of[participant]]:
            if other == participant:
                continue
            for track in self.tracks[other]:
                t = pc.addTransceiver(self.relay.subscribe(track), direction="sendonly")
                mime = "audio/opus" if track.kind == "audio" else "video/VP8"
                t.setCodecPreferences(glue.codec_capabilities(track.kind, mime))
                label = "microphone" if track.kind == "audio" else "camera"
                slots.append((t, other, track.kind, label, mime))
        await pc.setLocalDescription(await pc.createOffer())
        return {
            "sdp": pc.localDescription.sdp,
            "slots": [
                {
                    "mid": t.mid,
                    "kind": kind,
                    "track": {
                        "track_id": f"{other}/{label}",
                        "participant_id": other,
                        "label": label,
                        "kind": kind,
                        "mime_type": mime,
                        "clock_rate": 48000 if kind == "audio" else 90000,
                    },
                }
                for t, other, kind, label, mime in slots
            ],
        }

    async def subscribe_answer(self, participant: str, sdp: str) -> None:
        pc = self.subscribe_pcs[participant]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    def stats(self) -> dict[str, int]:
        return {}

    async def stop(self) -> None:
        pcs = [*self.publish_pcs.values(), *self.subscribe_pcs.values()]
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)


async def serve(mode: str, path: str) -> None:
    server: ForwardServer | RelayServer = ForwardServer() if mode == "forward" else RelayServer()
    await server.start()
    lag = LagMonitor()
    lag.start()
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            op = request.pop("op")
            rid = request.pop("id")
            try:
                if op == "quit":
                    result: Any = None
                    done.set()
                elif op == "stats":
                    result = {**server.stats(), "lag_ms": int(lag.reset() * 1000)}
                else:
                    result = await getattr(server, op)(**request)
                reply = {"id": rid, "result": result}
            except Exception as exc:
                logging.exception("%s failed", op)
                reply = {"id": rid, "error": repr(exc)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        done.set()

    unix = await asyncio.start_unix_server(handle, path, limit=1 << 22)
    print("READY", flush=True)
    await done.wait()
    await lag.stop()
    await server.stop()
    unix.close()


# -- load generator ------------------------------------------------------------------------


class Rpc:
    """JSON-lines requests to the server process."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.next_id = 0
        self.lock = asyncio.Lock()

    async def __call__(self, op: str, **args: Any) -> Any:
        async with self.lock:
            self.next_id += 1
            self.writer.write(json.dumps({"op": op, "id": self.next_id, **args}).encode() + b"\n")
            await self.writer.drain()
            reply = json.loads(await self.reader.readline())
        if "error" in reply:
            raise RuntimeError(f"{op}: {reply['error']}")
        return reply["result"]


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads."""
    return sum(cpu_times(pid))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


class LagMonitor:
    """Worst event-loop stall seen (a stall longer than a socket buffer's worth loses packets)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            self.worst = max(self.worst, loop.time() - before - 0.02)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    def reset(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def udp_errors() -> int:
    """Datagrams the kernel dropped because a receiving socket's buffer was full."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    for header, values in pairwise(lines):
        if header[0] == "Udp:" and values[0] == "Udp:":
            return int(values[header.index("RcvbufErrors")])
    return 0


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Result:
    mode: str
    rooms: int
    participants: int
    seconds: float
    server_cpu: float  # seconds of CPU in the window
    forwarded: int  # packets received by subscribers in the window
    expected: int
    rss_per_participant: float
    loadgen_cpu: float
    first_media_ms: float  # median, from asking for the subscribe offer to the first packet
    server_counters: dict[str, int]

    @property
    def us_per_packet(self) -> float:
        return self.server_cpu / max(1, self.forwarded) * 1e6

    @property
    def cpu_percent(self) -> float:
        return self.server_cpu / self.seconds * 100

    @property
    def loss(self) -> float:
        return max(0.0, 1 - self.forwarded / self.expected) if self.expected else 1.0


def snapshot(clients: list[SyntheticParticipant]) -> tuple[int, int]:
    packets = expected = 0
    for client in clients:
        for counters in client.by_ssrc.values():
            packets += counters.packets
            expected += counters.max_ext + 1
    return packets, expected


async def run(
    mode: str,
    rooms: int,
    seconds: float,
    warmup: float,
    video: EncodedClip,
    audio: EncodedClip,
    loop_kind: str,
    measure: Callable[[Rpc, int], Awaitable[Any]] | None = None,
) -> Any:
    """One run: a server process in ``mode``, ``rooms`` rooms of four clients, a warm-up,
    then a measurement window of ``seconds`` (a :class:`Result`) or, with ``measure``, what
    ``measure(rpc, server_pid)`` returns (another bench's own windows on the same load)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "media.sock")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            mode,
            "--socket",
            path,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), 30)
        assert ready.strip() == b"READY", ready
        reader, writer = await asyncio.open_unix_connection(path, limit=1 << 22)
        rpc = Rpc(reader, writer)
        idle_rss = rss_bytes(process.pid)
        clients: list[SyntheticParticipant] = []
        asked: dict[str, float] = {}
        try:
            for r in range(rooms):
                members = []
                for i in range(4):
                    name = f"r{r}p{i}"
                    client = SyntheticParticipant(name, video, audio)
                    clients.append(client)
                    members.append(client)
                    await rpc("join", room=f"room{r}", participant=name)
                    answer = await rpc(
                        "publish", participant=name, sdp=await client.publish_offer()
                    )
                    await client.publish_done(answer)
                for client in members:
                    asked[client.name] = time.monotonic()
                    offer = await rpc("subscribe_offer", participant=client.name)
                    slots = tuple(
                        SlotInfo(
                            s["mid"], s["kind"], TrackInfo(**s["track"]) if s["track"] else None
                        )
                        for s in offer["slots"]
                    )
                    sdp = await client.answer(SubscribeOffer(offer["sdp"], slots))
                    await rpc("subscribe_answer", participant=client.name, sdp=sdp)

            async with asyncio.timeout(60):
                while not all(  # noqa: ASYNC110 - polls a condition over many clients
                    len([c for c in client.by_ssrc.values() if c.packets > 10]) >= 6
                    for client in clients
                ):
                    await asyncio.sleep(0.2)
            await asyncio.sleep(warmup)
            if measure is not None:
                measured = await measure(rpc, process.pid)
                await rpc("quit")
                return measured

            lag = LagMonitor()
            lag.start()
            errors0 = udp_errors()
            cpu0, own0 = cpu_seconds(process.pid), own_cpu()
            user0, system0 = cpu_times(process.pid)
            packets0, expected0 = snapshot(clients)
            counters0 = await rpc("stats")
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            cpu1, own1 = cpu_seconds(process.pid), own_cpu()
            user1, system1 = cpu_times(process.pid)
            errors1 = udp_errors()
            await lag.stop()
            packets1, expected1 = snapshot(clients)
            counters1 = await rpc("stats")
            rss = rss_bytes(process.pid)
            await rpc("quit")
        finally:
            writer.close()
            await asyncio.wait_for(process.wait(), 60)
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    participants = rooms * 4
    first_media = sorted(
        (c.first_packet_at - asked[c.name]) * 1000 for c in clients if c.first_packet_at
    )
    return Result(
        mode=mode,
        rooms=rooms,
        participants=participants,
        seconds=elapsed,
        server_cpu=cpu1 - cpu0,
        forwarded=packets1 - packets0,
        expected=expected1 - expected0,
        rss_per_participant=(rss - idle_rss) / participants,
        loadgen_cpu=(own1 - own0) / elapsed * 100,
        first_media_ms=first_media[len(first_media) // 2] if first_media else -1.0,
        server_counters={
            **{k: counters1[k] - counters0.get(k, 0) for k in counters1},
            "server_lag_ms": counters1["lag_ms"],
            "loadgen_lag_ms": int(lag.worst * 1000),
            "kernel_rcvbuf_drops": errors1 - errors0,
            "server_user_ms": int((user1 - user0) * 1000),
            "server_system_ms": int((system1 - system0) * 1000),
        },
    )


def table(results: list[Result]) -> str:
    head = (
        f"{'server':8} {'rooms':>5} {'people':>6} {'pkt/s out':>9} {'µs/pkt':>7} "
        f"{'CPU %':>6} {'%/person':>8} {'RSS MB/p':>8} {'loss %':>6} {'loadgen %':>9} "
        f"{'1st pkt ms':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.mode:8} {r.rooms:>5} {r.participants:>6} {r.forwarded / r.seconds:>9.0f} "
            f"{r.us_per_packet:>7.1f} {r.cpu_percent:>6.1f} "
            f"{r.cpu_percent / r.participants:>8.2f} {r.rss_per_participant / 1e6:>8.2f} "
            f"{r.loss * 100:>6.2f} {r.loadgen_cpu:>9.1f} {r.first_media_ms:>10.0f}"
        )
    forward = {r.rooms: r for r in results if r.mode == "forward"}
    for r in results:
        if r.mode == "relay" and r.rooms in forward:
            ratio = r.us_per_packet / forward[r.rooms].us_per_packet
            lines.append(
                f"relay/forward at {r.rooms} room(s): {ratio:.1f}x server CPU per delivered packet"
            )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    t = time.monotonic()
    video = encode_video(640, 360, fps=30, seconds=4, bitrate=625_000, keyframe_interval=60)
    audio = encode_audio(seconds=4)
    print(
        f"clips encoded once in {time.monotonic() - t:.1f} s: VP8 640x360 30 fps "
        f"{video.bitrate / 1000:.0f} kbps, Opus {audio.bitrate / 1000:.0f} kbps",
        flush=True,
    )
    results = []
    plan = [("forward", n) for n in args.rooms] + [("relay", n) for n in args.relay_rooms]
    for mode, rooms in plan:
        result = await run(mode, rooms, args.seconds, args.warmup, video, audio, args.loop)
        results.append(result)
        print(
            table([result]).splitlines()[-1],
            f"server counters {result.server_counters}",
            flush=True,
        )
    print()
    print("$ " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(table(results))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, nargs="*", default=[1, 5, 10])
    parser.add_argument("--relay-rooms", type=int, nargs="*", default=[1])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="server event loop"
    )
    parser.add_argument("--serve", choices=["forward", "relay"], help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    logging.basicConfig(level=logging.WARNING)
    if arguments.serve:
        if arguments.loop == "uvloop":
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        profile = os.environ.get("MEDIA_BENCH_PROFILE")
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.thread_time)
            profiler.runcall(asyncio.run, serve(arguments.serve, arguments.socket))
            profiler.dump_stats(profile)
        else:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(serve(arguments.serve, arguments.socket))
    else:
        asyncio.run(main(arguments))
