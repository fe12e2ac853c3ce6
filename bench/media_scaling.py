"""Media scaling benchmark: four-party rooms held at loss < 1% with 1 and with 2 workers.

Each worker is a media server process (``bench/media_forward.py --serve forward``: the
``signaling.media`` forwarder behind JSON lines over a Unix socket) pinned with ``taskset``
to its own core (1 worker: CPU 1; 2 workers: CPU 0 and CPU 1) and capped by a cgroup (v1
``cpu``) to ``--quota`` of that core with raised ``cpu.shares``: this 2-core machine cannot
give two workers a whole core each *and* run the load generator, so "a core under test" is
a fixed slice of one core, the same slice in both configurations. The load generator is one
process, not pinned, in its own cgroup with raised shares and no cap; it uses the cheap
clients of ``bench/cheap_client.py`` (aiortc for the handshakes, then SRTP replay of a
recorded template and counting of still-encrypted packets), and its CPU is printed.

The load is stepped up (``--start`` rooms per worker, then ``--step`` more per worker, rooms
placed round-robin over the workers) until the loss over a measurement window reaches 1%;
the rooms held are the last step below 1%.

    .venv/bin/python bench/media_scaling.py                   # 1 then 2 workers, kill run, ~6 min
    .venv/bin/python bench/media_scaling.py --workers 2 --start 8 --step 2 --quota 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cheap_client import CheapPublisher, CheapSubscriber, Pacer, Template, record_template
from bench.media_forward import LagMonitor, Rpc, cpu_seconds, own_cpu, udp_errors
from signaling.media.model import SlotInfo, SubscribeOffer, TrackInfo
from signaling.media.synthetic import (
    EncodedClip,
    SyntheticParticipant,
    encode_audio,
    encode_video,
)

CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
FORWARD = Path(__file__).resolve().parent / "media_forward.py"


class CpuGroup:
    """A cgroup v1 ``cpu`` group: a CPU cap (fraction of one core, 0 = none) and shares."""

    def __init__(self, name: str, quota: float, shares: int) -> None:
        self.path = CGROUP_ROOT / name
        self.path.mkdir(exist_ok=True)
        period = int((self.path / "cpu.cfs_period_us").read_text())
        limit = int(quota * period) if quota > 0 else -1
        (self.path / "cpu.cfs_quota_us").write_text(str(limit))
        (self.path / "cpu.shares").write_text(str(shares))

    @staticmethod
    def available() -> bool:
        return os.access(CGROUP_ROOT, os.W_OK)

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_ms(self) -> int:
        """Time the group's tasks were held back by the cap."""
        for line in (self.path / "cpu.stat").read_text().splitlines():
            name, value = line.split()
            if name == "throttled_time":
                return int(value) // 1_000_000
        return 0

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                (CGROUP_ROOT / "cgroup.procs").write_text(pid)
            self.path.rmdir()


def run_queue_ms(pid: int) -> int:
    """Time a process's main thread waited for a CPU while runnable (/proc/<pid>/schedstat)."""
    with contextlib.suppress(OSError):
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) // 1_000_000
    return 0


class Worker:
    """One media server process pinned to a core, optionally capped by a cgroup."""

    def __init__(self, index: int, cpu: int, group: CpuGroup | None) -> None:
        self.index, self.cpu, self.group = index, cpu, group
        self.process: asyncio.subprocess.Process | None = None
        self.rpc: Rpc | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self, tmp: str) -> None:
        path = os.path.join(tmp, f"worker{self.index}.sock")
        self.process = await asyncio.create_subprocess_exec(
            "taskset",
            "-c",
            str(self.cpu),
            sys.executable,
            str(FORWARD),
            "--serve",
            "forward",
            "--socket",
            path,
            stdout=asyncio.subprocess.PIPE,
        )
        if self.group is not None:
            self.group.add(self.process.pid)
        assert self.process.stdout is not None
        ready = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert ready.strip() == b"READY", ready
        reader, self._writer = await asyncio.open_unix_connection(path, limit=1 << 22)
        self.rpc = Rpc(reader, self._writer)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.rpc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.rpc("quit"), 30)
        if self._writer is not None:
            self._writer.close()
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Room:
    worker: Worker
    clients: list[SyntheticParticipant] = field(default_factory=list)
    publishers: list[CheapPublisher] = field(default_factory=list)
    subscribers: list[CheapSubscriber] = field(default_factory=list)


@dataclass
class Step:
    workers: int
    rooms: int
    seconds: float
    forwarded: int
    expected: int
    server_cpu: float  # CPU seconds of all workers in the window
    loadgen_cpu: float  # CPU seconds of the load generator in the window
    per_worker_loss: list[float]
    diagnostics: dict[str, int]

    @property
    def participants(self) -> int:
        return self.rooms * 4

    @property
    def loss(self) -> float:
        return max(0.0, 1 - self.forwarded / self.expected) if self.expected else 1.0

    def line(self) -> str:
        return (
            f"{self.workers:>7} {self.rooms:>5} {self.participants:>6} "
            f"{self.forwarded / self.seconds:>9.0f} {self.server_cpu / self.seconds * 100:>6.1f} "
            f"{self.loss * 100:>6.2f} {self.loadgen_cpu / self.seconds * 100:>9.1f}"
        )


HEAD = (
    f"{'workers':>7} {'rooms':>5} {'people':>6} {'pkt/s out':>9} {'CPU %':>6} "
    f"{'loss %':>6} {'loadgen %':>9}"
)


def delivered(room: Room) -> int:
    """Packets the room's subscribers received so far."""
    return sum(s.snapshot()[0] for s in room.subscribers)


def published(room: Room) -> int:
    """Packets the room's publishers sent or tried to send so far (a dead connection's
    packets are due too)."""
    return sum(p.sent + p.dropped for p in room.publishers)


class Scaling:
    """Steps the load up on ``workers`` workers until loss reaches the threshold."""

    def __init__(
        self,
        args: argparse.Namespace,
        workers: int,
        template: Template,
        video: EncodedClip,
        audio: EncodedClip,
    ) -> None:
        self.args = args
        self.template = template
        self.video, self.audio = video, audio
        self.workers: list[Worker] = []
        self.groups: list[CpuGroup] = []
        cpus = [1] if workers == 1 else list(range(workers))
        for i in range(workers):
            group = None
            if args.quota > 0 and CpuGroup.available():
                group = CpuGroup(f"bilin-bench-scaling-w{i}", args.quota, args.shares)
                self.groups.append(group)
            self.workers.append(Worker(i, cpus[i % len(cpus)], group))
        self.rooms: list[Room] = []
        self.pacer = Pacer()
        self.serial = 0

    async def add_room(self, worker: Worker | None = None) -> None:
        worker = worker or self.workers[len(self.rooms) % len(self.workers)]
        rpc = worker.rpc
        assert rpc is not None
        room = Room(worker)
        self.serial += 1
        name = f"room{self.serial}"
        for i in range(4):
            client = SyntheticParticipant(f"{name}p{i}", self.video, self.audio)
            room.clients.append(client)
            await rpc("join", room=name, participant=client.name)
            offer = await client.publish_offer()
            room.publishers.append(CheapPublisher(client))
            await client.publish_done(await rpc("publish", participant=client.name, sdp=offer))
        for client in room.clients:
            offer = await rpc("subscribe_offer", participant=client.name)
            slots = tuple(
                SlotInfo(s["mid"], s["kind"], TrackInfo(**s["track"]) if s["track"] else None)
                for s in offer["slots"]
            )
            sdp = await client.answer(SubscribeOffer(offer["sdp"], slots))
            await rpc("subscribe_answer", participant=client.name, sdp=sdp)
            room.subscribers.append(CheapSubscriber(client))
        self.rooms.append(room)

    async def settle(self, rooms: list[Room]) -> None:
        """Wait for aiortc's media to flow in the new rooms, then switch to the cheap path."""
        clients = [c for r in rooms for c in r.clients]
        async with asyncio.timeout(120):
            while not all(  # noqa: ASYNC110 - polls a condition over many clients
                sum(1 for c in client.by_ssrc.values() if c.packets > 5) >= 6 for client in clients
            ):
                await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        for room in rooms:
            for publisher in room.publishers:
                await publisher.take_over(self.template, loop.time() + random.random() * 0.1)
                self.pacer.publishers.append(publisher)
            for subscriber in room.subscribers:
                # A connection that failed meanwhile stays uncounted: its packets are lost.
                if not subscriber.install():
                    print(f"subscriber {subscriber.participant.name} is not connected")

    async def measure(self) -> Step:
        args = self.args
        subscribers = [s for r in self.rooms for s in r.subscribers]
        lag = LagMonitor()
        lag.start()
        errors0 = udp_errors()
        cpu0 = [cpu_seconds(w.pid) for w in self.workers]
        wait0 = [run_queue_ms(w.pid) for w in self.workers]
        throttled0 = [g.throttled_ms() for g in self.groups]
        own0 = own_cpu()
        times0 = os.times()
        before = [(delivered(r), published(r)) for r in self.rooms]
        gaps0 = sum(s.snapshot()[1] - s.snapshot()[0] for s in subscribers)
        drops0 = sum(p.dropped for r in self.rooms for p in r.publishers)
        t0 = time.monotonic()
        await asyncio.sleep(args.seconds)
        elapsed = time.monotonic() - t0
        cpu1 = [cpu_seconds(w.pid) for w in self.workers]
        wait1 = [run_queue_ms(w.pid) for w in self.workers]
        throttled1 = [g.throttled_ms() for g in self.groups]
        own1 = own_cpu()
        times1 = os.times()
        after = [(delivered(r), published(r)) for r in self.rooms]
        gaps1 = sum(s.snapshot()[1] - s.snapshot()[0] for s in subscribers)
        errors1 = udp_errors()
        await lag.stop()
        # Every packet a publisher sends is due at the room's three other participants.
        # (The forwarder renumbers per subscriber, so sequence gaps at the subscribers
        # would miss packets lost before or inside the server.)
        got = [a[0] - b[0] for a, b in zip(after, before, strict=True)]
        due = [3 * (a[1] - b[1]) for a, b in zip(after, before, strict=True)]
        per_worker = []
        for w in self.workers:
            mine = [i for i, r in enumerate(self.rooms) if r.worker is w]
            g, d = sum(got[i] for i in mine), sum(due[i] for i in mine)
            per_worker.append(max(0.0, 1 - g / d) if d else 1.0)
        diagnostics = {
            "loadgen_lag_ms": int(lag.worst * 1000),
            "loadgen_user_ms": int((times1.user - times0.user) * 1000),
            "loadgen_system_ms": int((times1.system - times0.system) * 1000),
            "kernel_rcvbuf_drops": errors1 - errors0,
            "publisher_send_drops": sum(p.dropped for r in self.rooms for p in r.publishers)
            - drops0,
            "subscriber_seq_gaps": gaps1 - gaps0,
            "silent_publishers": sum(1 for r in self.rooms for p in r.publishers if not p.sent),
            "subscribers_missing_streams": sum(
                1 for r in self.rooms for s in r.subscribers if len(s.counters) < 6
            ),
        }
        for i, _ in enumerate(self.workers):
            diagnostics[f"w{i}_runqueue_wait_ms"] = wait1[i] - wait0[i]
        for i, _ in enumerate(self.groups):
            diagnostics[f"w{i}_throttled_ms"] = throttled1[i] - throttled0[i]
        return Step(
            workers=len(self.workers),
            rooms=len(self.rooms),
            seconds=elapsed,
            forwarded=sum(got),
            expected=sum(due),
            server_cpu=sum(cpu1) - sum(cpu0),
            loadgen_cpu=own1 - own0,
            per_worker_loss=per_worker,
            diagnostics=diagnostics,
        )

    async def run(self, start: int) -> tuple[Step | None, list[Step], str]:
        """Step up from ``start`` rooms per worker; returns the last step held, every
        step, and why the stepping ended."""
        args = self.args
        ended = f"never reached {args.threshold:.0%} loss up to --max {args.max} per worker"
        steps: list[Step] = []
        held: Step | None = None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                for worker in self.workers:
                    await worker.start(tmp)
                self.pacer.start()
                per_worker = start
                while per_worker <= args.max:
                    t = time.monotonic()
                    try:
                        while len(self.rooms) < per_worker * len(self.workers):
                            await self.add_room()
                            # aiortc's own sender is the expensive part: switch each room
                            # to the cheap path as soon as its media flows.
                            await self.settle([self.rooms[-1]])
                    except TimeoutError:
                        ended = (
                            f"at {per_worker * len(self.workers)} rooms a new room's media "
                            "did not start within 120 s (the load generator was saturated)"
                        )
                        print(ended, flush=True)
                        break
                    setup = time.monotonic() - t
                    await asyncio.sleep(args.warmup)
                    step = await self.measure()
                    steps.append(step)
                    print(
                        step.line(),
                        f"per-worker loss % {[round(x * 100, 2) for x in step.per_worker_loss]}",
                        f"setup {setup:.0f} s",
                        step.diagnostics,
                        flush=True,
                    )
                    if step.loss >= args.threshold:
                        ended = f"next step {step.rooms} rooms: loss {step.loss * 100:.2f} %"
                        break
                    held = step
                    per_worker += args.step
            finally:
                await self.pacer.stop()
                clients = [c for r in self.rooms for c in r.clients]
                await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
                for worker in self.workers:
                    await worker.stop()
                for group in self.groups:
                    group.remove()
        return held, steps, ended


@dataclass
class Recovery:
    rooms: int  # rooms on the killed worker
    detected_ms: float  # kill -> every one of its subscribers noticed the media stop
    recovered_ms: float  # kill -> all their rooms re-placed and every stream flowing again


async def recover(
    args: argparse.Namespace, template: Template, video: EncodedClip, audio: EncodedClip
) -> Recovery:
    """Two workers, ``--recover-rooms`` rooms each; SIGKILL worker 1; its participants
    notice (no packet for ``--silence`` s on every stream) and rejoin their rooms on
    worker 0, as clients whose worker died would be placed again."""
    scaling = Scaling(args, 2, template, video, audio)
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for worker in scaling.workers:
                await worker.start(tmp)
            scaling.pacer.start()
            while len(scaling.rooms) < 2 * args.recover_rooms:
                await scaling.add_room()
                await scaling.settle([scaling.rooms[-1]])
            await asyncio.sleep(args.warmup)
            survivor, victim = scaling.workers
            victims = [r for r in scaling.rooms if r.worker is victim]
            subscribers = [s for r in victims for s in r.subscribers]
            last = {id(s): (s.snapshot()[0], loop.time()) for s in subscribers}
            assert victim.process is not None
            killed = loop.time()
            victim.process.kill()
            # Detection: every stream of every subscriber silent for --silence seconds.
            noticed: dict[int, float] = {}
            while len(noticed) < len(subscribers):
                await asyncio.sleep(0.01)
                now = loop.time()
                for s in subscribers:
                    count = s.snapshot()[0]
                    if count != last[id(s)][0]:
                        last[id(s)] = (count, now)
                    elif id(s) not in noticed and now - last[id(s)][1] >= args.silence:
                        noticed[id(s)] = now
            detected = max(noticed.values()) - killed
            gone = {id(p) for r in victims for p in r.publishers}
            scaling.pacer.publishers = [p for p in scaling.pacer.publishers if id(p) not in gone]
            await asyncio.gather(
                *(c.close() for r in victims for c in r.clients), return_exceptions=True
            )
            scaling.rooms = [r for r in scaling.rooms if r.worker is survivor]
            # The rooms rejoin at once, as their participants would (the signalling stand-in
            # still carries one request at a time).
            kept = len(scaling.rooms)
            await asyncio.gather(*(scaling.add_room(survivor) for _ in victims))
            await scaling.settle(scaling.rooms[kept:])
            recovered = loop.time() - killed
        finally:
            await scaling.pacer.stop()
            clients = [c for r in scaling.rooms for c in r.clients]
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            for worker in scaling.workers:
                await worker.stop()
            for group in scaling.groups:
                group.remove()
    return Recovery(len(victims), detected * 1000, recovered * 1000)


async def make_template(video: EncodedClip, audio: EncodedClip) -> Template:
    """Record one loop of aiortc's packets from a publisher in a room of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(0, 0, None)
        await worker.start(tmp)
        client = SyntheticParticipant("template", video, audio)
        try:
            assert worker.rpc is not None
            await worker.rpc("join", room="template", participant="template")
            offer = await client.publish_offer()
            recording = asyncio.create_task(record_template(client))
            answer = await worker.rpc("publish", participant="template", sdp=offer)
            await client.publish_done(answer)
            return await recording
        finally:
            await client.close()
            await worker.stop()


async def main(args: argparse.Namespace) -> None:
    t = time.monotonic()
    video = encode_video(640, 360, fps=30, seconds=4, bitrate=625_000, keyframe_interval=60)
    audio = encode_audio(seconds=4)
    template = await make_template(video, audio)
    print(
        f"clips encoded and template recorded in {time.monotonic() - t:.1f} s: "
        f"{template.rate:.0f} packets/s per publisher "
        f"({sum(len(p[3]) for p in template.packets) * 8 / template.period / 1000:.0f} kbps)",
        flush=True,
    )
    load0 = os.getloadavg()
    groups = CpuGroup.available() and args.quota > 0
    print(
        f"{os.cpu_count()} CPUs, load average {load0[0]:.1f} (1 min) {load0[1]:.1f} (5 min); "
        + (
            f"each worker pinned to its core and capped at {args.quota:.2f} of it "
            f"(cgroup cpu, shares {args.shares}); load generator unpinned, shares {args.shares}"
            if groups
            else "workers pinned to their cores, no cgroup cap"
        ),
        flush=True,
    )
    loadgen_group = None
    if groups:
        loadgen_group = CpuGroup("bilin-bench-scaling-loadgen", 0, args.shares)
        loadgen_group.add(os.getpid())
    print(HEAD, flush=True)
    results: list[tuple[int, Step | None, list[Step], str]] = []
    try:
        start = args.start
        for workers in args.workers:
            scaling = Scaling(args, workers, template, video, audio)
            held, steps, ended = await scaling.run(start)
            results.append((workers, held, steps, ended))
            if held is not None:
                # The next configuration starts one step below this one's per-worker figure.
                start = max(start, held.rooms // workers - args.step)
        recovery = await recover(args, template, video, audio) if args.recover_rooms else None
    finally:
        if loadgen_group is not None:
            loadgen_group.remove()
    load1 = os.getloadavg()
    print()
    print("$ " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(f"load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end (1 min)")
    print("rooms held at loss < 1% (the last step below it):")
    print(HEAD)
    print("-" * len(HEAD))
    held_rooms = {}
    for workers, held, steps, ended in results:
        if held is None:
            first = steps[0].line().strip() if steps else "-"
            print(f"{workers:>7} none held (first step: {first}; {ended})")
            continue
        print(held.line())
        held_rooms[workers] = held.rooms
        print(f"{'':>7} ({ended})")
    if 1 in held_rooms and 2 in held_rooms:
        # When the 2-worker run ended for another reason than loss, it held at least that.
        bound = "" if results[-1][3].startswith("next step") else "at least "
        print(f"2 workers / 1 worker: {bound}{held_rooms[2] / held_rooms[1]:.2f}x rooms held")
    if recovery is not None:
        print(
            f"worker killed (SIGKILL) with {recovery.rooms} rooms "
            f"({recovery.rooms * 4} participants): silence noticed by all after "
            f"{recovery.detected_ms:.0f} ms (threshold {args.silence * 1000:.0f} ms), "
            f"all rooms rejoined on the other worker with every stream flowing after "
            f"{recovery.recovered_ms:.0f} ms"
        )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--start", type=int, default=8, help="rooms per worker, first step")
    parser.add_argument("--step", type=int, default=2, help="rooms per worker added per step")
    parser.add_argument("--max", type=int, default=24, help="rooms per worker, at most")
    parser.add_argument("--seconds", type=float, default=8.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--threshold", type=float, default=0.01, help="loss that ends a run")
    parser.add_argument(
        "--quota", type=float, default=0.5, help="cap per worker, in cores (0: no cgroup)"
    )
    parser.add_argument(
        "--recover-rooms",
        type=int,
        default=4,
        help="rooms per worker in the kill-a-worker run (0: skip it)",
    )
    parser.add_argument(
        "--silence", type=float, default=0.5, help="seconds without media that mean 'gone'"
    )
    parser.add_argument("--shares", type=int, default=8192, help="cgroup cpu.shares")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
