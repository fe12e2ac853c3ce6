"""A cheap load generator for the media worker: aiortc for the handshakes, then raw sockets.

aiortc's own send and receive pipelines cost several times what the forwarder spends per
packet, so a machine running both saturates on the clients first. Here each synthetic
participant is set up exactly like :class:`SyntheticParticipant` (ICE, DTLS, SRTP keys,
the first seconds of media through aiortc), then:

- **publishing** stops aiortc's RTP sender and replays a *template* (the plaintext RTP
  packets aiortc produced for one 4 s loop of the clip, recorded once per run) with this
  participant's SSRCs, continuing sequence numbers and rising timestamps, SRTP-protected
  with its own keys and sent straight to the socket (``glue.Egress``) from one pacing task
  for all publishers;
- **subscribing** counts the datagrams in the socket callback without decrypting them: the
  RTP header (sequence number, SSRC) is not encrypted in SRTP, so loss is counted from
  sequence gaps per SSRC; RTCP, STUN and DTLS still take aiortc's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from typing import Any

from signaling.media import glue
from signaling.media.rtp import is_rtcp
from signaling.media.synthetic import SyntheticParticipant

logger = logging.getLogger(__name__)

AUDIO, VIDEO = 0, 1
CLOCKS = (48000, 90000)
HEADER = struct.Struct("!HII")  # sequence number, timestamp, SSRC at offset 2


@dataclass(frozen=True)
class Template:
    """One loop of a publisher's media as plaintext RTP: (offset s, track, ts offset, packet)."""

    packets: tuple[tuple[float, int, int, bytes], ...]
    period: float  # seconds one loop covers

    @property
    def rate(self) -> float:
        """Packets per second of one publisher."""
        return len(self.packets) / self.period


def _ssrcs(participant: SyntheticParticipant) -> tuple[int, int]:
    audio, video = participant.publish_pc.getTransceivers()[:2]
    return glue.sender_ssrc(audio.sender), glue.sender_ssrc(video.sender)


class _SendTap:
    """Wraps a publish connection's ``_send_rtp``: remembers the last header per SSRC and,
    when asked, records plaintext packets."""

    def __init__(self, participant: SyntheticParticipant) -> None:
        self.dtls = participant.publish_pc.getTransceivers()[0].sender.transport
        self.original = self.dtls._send_rtp
        self.last: dict[int, tuple[int, int]] = {}
        self.recording: list[bytes] | None = None
        glue._set(self.dtls, "_send_rtp", self._send)

    async def _send(self, data: bytes) -> None:
        if len(data) > 12 and not is_rtcp(data):
            seq, ts, ssrc = HEADER.unpack_from(data, 2)
            self.last[ssrc] = (seq, ts)
            if self.recording is not None:
                self.recording.append(bytes(data))
        await self.original(data)


async def record_template(participant: SyntheticParticipant, period: float = 4.0) -> Template:
    """Record one ``period`` of what aiortc sends for a connected publisher (called right
    after :meth:`SyntheticParticipant.publish_offer`, before the answer)."""
    tap = _SendTap(participant)
    tap.recording = []
    audio_ssrc, video_ssrc = _ssrcs(participant)
    spans = (int(period * CLOCKS[AUDIO]), int(period * CLOCKS[VIDEO]))
    first: dict[int, int] = {}
    packets: list[tuple[float, int, int, bytes]] = []
    async with asyncio.timeout(60):
        done = [False, False]
        index = 0
        while not all(done):
            await asyncio.sleep(0.1)
            for data in tap.recording[index:]:
                _, ts, ssrc = HEADER.unpack_from(data, 2)
                if ssrc not in (audio_ssrc, video_ssrc):
                    continue  # retransmissions
                track = AUDIO if ssrc == audio_ssrc else VIDEO
                rel = (ts - first.setdefault(track, ts)) & 0xFFFFFFFF
                if rel >= spans[track]:
                    done[track] = True
                    continue
                packets.append((rel / CLOCKS[track], track, rel, data))
            index = len(tap.recording)
    tap.recording = None
    packets.sort(key=lambda p: p[0])
    return Template(tuple(packets), period)


class CheapPublisher:
    """Replays a template on one publisher's connection, from the pacing task."""

    def __init__(self, participant: SyntheticParticipant) -> None:
        self.participant = participant
        self._tap = _SendTap(participant)
        self.sent = 0
        self.dropped = 0
        self._egress: glue.Egress | None = None
        self._ssrc = (0, 0)
        self._seq = [0, 0]
        self._base = [0, 0]
        self._start = 0.0
        self._loops = 0
        self._index = 0

    async def take_over(self, template: Template, start: float) -> None:
        """Stop aiortc's senders and continue their streams from the template at ``start``."""
        self._ssrc = _ssrcs(self.participant)
        async with asyncio.timeout(30):
            while not all(s in self._tap.last for s in self._ssrc):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        for transceiver in self.participant.publish_pc.getTransceivers():
            await transceiver.sender.stop()
        for track in (AUDIO, VIDEO):
            seq, ts = self._tap.last[self._ssrc[track]]
            self._seq[track] = seq
            # Leave a gap of 100 ms of clock: timestamps keep rising.
            self._base[track] = ts + CLOCKS[track] // 10
        self._egress = glue.Egress(self._tap.dtls, 1 << 20)
        self._template = template
        self._start = start

    def send_due(self, now: float) -> None:
        """Send every template packet due by ``now``."""
        egress = self._egress
        if egress is None:
            return
        template = self._template
        packets = template.packets
        count = len(packets)
        origin = self._start + self._loops * template.period
        while True:
            offset, track, rel, data = packets[self._index]
            if origin + offset > now:
                return
            seq = self._seq[track] = (self._seq[track] + 1) & 0xFFFF
            span = int(template.period * CLOCKS[track])
            ts = (self._base[track] + self._loops * span + rel) & 0xFFFFFFFF
            packet = bytearray(data)
            HEADER.pack_into(packet, 2, seq, ts, self._ssrc[track])
            if egress.send_rtp(bytes(packet)):
                self.sent += 1
            else:
                self.dropped += 1
            self._index += 1
            if self._index == count:
                self._index = 0
                self._loops += 1
                origin += template.period


class Pacer:
    """One task sends for every cheap publisher in the process, every ``tick`` seconds."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.publishers: list[CheapPublisher] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            for publisher in self.publishers:
                try:
                    publisher.send_due(now)
                except Exception:
                    logger.exception("cheap publisher failed")
                    publisher._egress = None
            await asyncio.sleep(self.tick)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CheapSubscriber:
    """Counts SRTP packets per SSRC from their clear-text headers, without decrypting."""

    def __init__(self, participant: SyntheticParticipant) -> None:
        self.participant = participant
        # ssrc -> [packets, last sequence number, extended highest sequence number]
        self.counters: dict[int, list[int]] = {}
        self.installed = False

    def install(self) -> bool:
        """Hook the subscribe connection's socket (after it is connected and fast_ingress
        is in place); returns whether it is."""
        if self.installed:
            return True
        dtls = self.participant.subscribe_pc.getTransceivers()[0].receiver.transport
        if dtls.state != "connected":
            return False
        protocols = list(dtls.transport._connection._protocols)
        if not protocols:
            return False
        # Every local socket, not only the nominated pair's: the server sends from its own
        # nominated pair, which may reach another of ours.
        for protocol in protocols:
            self._hook(protocol)
        self.installed = True
        return True

    def _hook(self, protocol: Any) -> None:
        previous = protocol.datagram_received
        counters = self.counters

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            if len(data) > 12 and 127 < data[0] < 192 and not 191 < data[1] < 224:
                seq = (data[2] << 8) | data[3]
                ssrc = int.from_bytes(data[8:12])
                c = counters.get(ssrc)
                if c is None:
                    counters[ssrc] = [1, seq, 0]
                    return
                c[0] += 1
                d = (seq - c[1]) & 0xFFFF
                if d < 0x8000:
                    c[1] = seq
                    c[2] += d
            else:
                previous(data, addr)

        glue._set(protocol, "datagram_received", datagram_received)
        glue._drain_reads(protocol.transport, datagram_received)

    def snapshot(self) -> tuple[int, int]:
        """(packets received, packets expected from the sequence numbers) so far."""
        packets = expected = 0
        for c in self.counters.values():
            packets += c[0]
            expected += c[2] + 1
        return packets, expected
