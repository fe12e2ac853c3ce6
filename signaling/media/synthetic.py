"""Synthetic participants for tests and benchmarks: aiortc clients replaying media.

Media is encoded once (:func:`encode_video`, :func:`encode_audio`, libvpx and libopus
through PyAV) and replayed as ``av.Packet`` objects with rising timestamps at real-time
pace: nothing is encoded in the hot loop. A keyframe request makes the video replay
jump to the next keyframe of the clip, the way a real encoder answers a PLI.

A :class:`SyntheticParticipant` publishes on one connection and answers the server's
offers on another; it counts the RTP packets it receives per SSRC and track, and can
decode them with aiortc (``decode=True``) to count decoded frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import math
import random
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from . import glue
from .model import SubscribeOffer, TrackInfo
from .rtp import RTP_HEADER, is_rtcp, keyframe_detector, payload_offset, vp8_keyframe_start

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
OPUS_FRAME = 960  # 20 ms at 48 kHz


@dataclass(frozen=True)
class EncodedClip:
    """Encoded frames of a clip: payload bytes and whether each is a keyframe."""

    frames: tuple[tuple[bytes, bool], ...]
    frame_duration: int  # in clock units
    clock_rate: int

    @property
    def bitrate(self) -> int:
        """Average bits per second of the clip."""
        seconds = len(self.frames) * self.frame_duration / self.clock_rate
        return int(sum(len(f) for f, _ in self.frames) * 8 / seconds)


def _pattern_source(width: int, height: int) -> Callable[[int], bytes]:
    """Luma planes of 8x8 random blocks scrolling under a moving bar: texture and motion
    that libvpx compresses to a realistic bitrate (pure noise would not compress)."""
    rng = random.Random(7)
    block = 8
    tile_rows = []
    for _ in range((height + 64) // block):
        values = [rng.randrange(40, 200) for _ in range(2 * width // block)]
        row = bytes(v for v in values for _ in range(block))
        tile_rows.extend([row] * block)

    def plane(index: int) -> bytes:
        shift = (index * 3) % width
        bar = (index * 5) % width
        rows = []
        for y in range(height):
            row = bytearray(tile_rows[(y + index // 2) % len(tile_rows)][shift : shift + width])
            end = min(width, bar + 20)
            row[bar:end] = b"\xeb" * (end - bar)
            rows.append(bytes(row))
        return b"".join(rows)

    return plane


def encode_video(
    width: int = 640,
    height: int = 360,
    fps: int = 30,
    seconds: float = 4.0,
    bitrate: int = 625_000,
    keyframe_interval: int = 30,
    codec: str = "libvpx",
) -> EncodedClip:
    """Encode a synthetic clip once: VP8 (libvpx, realtime) or H264 (``codec="libx264"``)."""
    encoder: Any = av.CodecContext.create(codec, "w")
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, fps)
    encoder.framerate = fractions.Fraction(fps, 1)
    encoder.bit_rate = bitrate
    encoder.gop_size = keyframe_interval
    if codec == "libx264":
        # Constrained baseline, SPS/PPS before every IDR: what browsers send.
        encoder.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": "repeat-headers=1:scenecut=0",
        }
    else:
        encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    plane = _pattern_source(width, height)
    chroma = b"\x80" * ((width // 2) * (height // 2))
    frames: list[tuple[bytes, bool]] = []
    count = int(seconds * fps)
    for index in range(count):
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(plane(index))
        frame.planes[1].update(chroma)
        frame.planes[2].update(chroma)
        frame.pts = index
        if index % keyframe_interval == 0:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in encoder.encode(frame):
            frames.append((bytes(packet), bool(packet.is_keyframe)))
    for packet in encoder.encode(None):
        frames.append((bytes(packet), bool(packet.is_keyframe)))
    return EncodedClip(tuple(frames), VIDEO_CLOCK // fps, VIDEO_CLOCK)


def encode_audio(seconds: float = 4.0, bitrate: int = 32_000) -> EncodedClip:
    """Encode a synthetic Opus clip (a warbling tone, 20 ms frames) once."""
    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = AUDIO_CLOCK
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.bit_rate = bitrate
    encoder.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    frames: list[tuple[bytes, bool]] = []
    for index in range(int(seconds * 50)):
        samples = bytearray()
        for n in range(OPUS_FRAME):
            t = (index * OPUS_FRAME + n) / AUDIO_CLOCK
            value = int(8000 * math.sin(2 * math.pi * (440 + 60 * math.sin(t)) * t))
            samples += struct.pack("<hh", value, value)
        frame = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_FRAME)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * OPUS_FRAME
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        for packet in encoder.encode(frame):
            frames.append((bytes(packet), True))
    return EncodedClip(tuple(frames), OPUS_FRAME, AUDIO_CLOCK)


class ReplayTrack(MediaStreamTrack):
    """Replays an encoded clip in a loop at real-time pace, timestamps always rising."""

    def __init__(self, kind: str, clip: EncodedClip) -> None:
        super().__init__()
        self.kind = kind
        self._clip = clip
        self._index = random.randrange(len(clip.frames)) if kind == "audio" else 0
        self._count = 0
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, clip.clock_rate)
        self._keyframe_wanted = False
        self.keyframe_requests = 0
        self.paused = False

    def request_keyframe(self) -> None:
        """What the sender calls on PLI/FIR: jump to the next keyframe."""
        self.keyframe_requests += 1
        self._keyframe_wanted = True

    async def recv(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        clip = self._clip
        frames = clip.frames
        while True:
            due = self._start + self._count * clip.frame_duration / clip.clock_rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._keyframe_wanted:
                self._keyframe_wanted = False
                for step in range(1, len(frames) + 1):
                    if frames[(self._index + step) % len(frames)][1]:
                        self._index = (self._index + step) % len(frames)
                        break
            data, _ = frames[self._index % len(frames)]
            self._index = (self._index + 1) % len(frames)
            pts = self._count * clip.frame_duration
            self._count += 1
            if self.paused:
                continue
            packet = av.Packet(data)
            packet.pts = pts
            packet.time_base = self._time_base
            return packet


@dataclass
class SsrcCounters:
    """What a synthetic subscriber saw on one SSRC."""

    packets: int = 0
    octets: int = 0
    last_seq: int | None = None
    max_ext: int = -1
    first_ext: int = 0
    seq_jumps: int = 0
    reordered: int = 0
    keyframe_starts: list[bool] = field(default_factory=list)


class SyntheticParticipant:
    """An aiortc client that publishes a replayed camera and microphone and subscribes."""

    def __init__(
        self,
        name: str,
        video: EncodedClip | None,
        audio: EncodedClip | None,
        decode: bool = False,
        drop_outgoing: Callable[[int], bool] | None = None,
        drop_incoming: Callable[[int], bool] | None = None,
        video_codec: str = "video/VP8",
    ) -> None:
        self.name = name
        self.decode = decode
        config = glue.rtc_configuration(())
        self.publish_pc = RTCPeerConnection(config)
        self.subscribe_pc = RTCPeerConnection(config)
        self.video_track = ReplayTrack("video", video) if video else None
        self.audio_track = ReplayTrack("audio", audio) if audio else None
        self.screen_track: ReplayTrack | None = None
        self.video_codec = video_codec
        self._drop_outgoing = drop_outgoing
        self._drop_incoming = drop_incoming
        self._seen_incoming: set[tuple[int, int]] = set()
        self.dropped_incoming = 0
        self._sent_seqs: set[int] = set()
        self.dropped_outgoing = 0
        self.by_ssrc: dict[int, SsrcCounters] = {}
        self.first_packet_at: float | None = None
        self.packets_by_track: Counter[str] = Counter()
        self.decoded_by_track: Counter[str] = Counter()
        self.frame_sizes: dict[str, tuple[int, int]] = {}
        self.mid_by_ssrc: dict[int, str] = {}
        self.track_by_mid: dict[str, TrackInfo | None] = {}
        self._original_rtp: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.frame_event = asyncio.Event()
        self.packet_event = asyncio.Event()

        @self.subscribe_pc.on("connectionstatechange")
        def _on_state() -> None:
            if self.subscribe_pc.connectionState != "connected":
                return
            dtls = self.subscribe_pc.getTransceivers()[0].receiver.transport
            glue.socket_buffers(dtls, 4 << 20)
            if not self.decode and self._drop_incoming is None:
                # Only counting: take packets at the socket, as the server does.
                glue.fast_ingress(dtls, self._count)

        @self.subscribe_pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if self.decode:
                task = asyncio.create_task(self._consume(track))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    # -- publishing ----------------------------------------------------------------------

    async def publish_offer(self) -> str:
        """Create the publish offer (camera VP8 + microphone Opus)."""
        if self.audio_track is not None:
            t = self.publish_pc.addTransceiver(self.audio_track, direction="sendonly")
            t.setCodecPreferences(glue.codec_capabilities("audio", "audio/opus"))
        video = None
        if self.video_track is not None:
            t = video = self.publish_pc.addTransceiver(self.video_track, direction="sendonly")
            t.setCodecPreferences(glue.codec_capabilities("video", self.video_codec))
            glue._set(t.sender, "_send_keyframe", self.video_track.request_keyframe)
        await self.publish_pc.setLocalDescription(await self.publish_pc.createOffer())
        if self._drop_outgoing is not None:
            dtls = self.publish_pc.getTransceivers()[0].sender.transport
            original = dtls._send_rtp

            async def send_rtp(data: bytes) -> None:
                if not is_rtcp(data) and len(data) > 12:
                    seq = (data[2] << 8) | data[3]
                    first = seq not in self._sent_seqs
                    self._sent_seqs.add(seq)
                    video_pt = glue.payload_type(video) if video is not None else None
                    if first and data[1] & 0x7F == video_pt and self._drop(seq):
                        self.dropped_outgoing += 1
                        return
                await original(data)

            glue._set(dtls, "_send_rtp", send_rtp)
        return str(self.publish_pc.localDescription.sdp)

    async def screen_offer(self, clip: EncodedClip | None) -> str:
        """A publish re-offer that starts (with a clip) or stops (``None``) a screen share."""
        if clip is not None:
            self.screen_track = ReplayTrack("video", clip)
            t = self.publish_pc.addTransceiver(self.screen_track, direction="sendonly")
            t.setCodecPreferences(glue.codec_capabilities("video", self.video_codec))
            glue._set(t.sender, "_send_keyframe", self.screen_track.request_keyframe)
        else:
            for t in self.publish_pc.getTransceivers():
                if self.screen_track is not None and t.sender.track is self.screen_track:
                    t.direction = "inactive"
        await self.publish_pc.setLocalDescription(await self.publish_pc.createOffer())
        return str(self.publish_pc.localDescription.sdp)

    def _drop(self, seq: int) -> bool:
        return self._drop_outgoing is not None and self._drop_outgoing(seq)

    async def publish_done(self, answer_sdp: str) -> None:
        """Apply the server's answer to the publish offer."""
        await self.publish_pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer_sdp, type="answer")
        )

    # -- subscribing ---------------------------------------------------------------------

    async def answer(self, offer: SubscribeOffer) -> str:
        """Answer a subscribe offer, remembering which SSRC carries which track."""
        description = SessionDescription.parse(offer.sdp)
        for media in description.media:
            for ssrc in media.ssrc:
                self.mid_by_ssrc[ssrc.ssrc] = media.rtp.muxId
        for slot in offer.slots:
            self.track_by_mid[slot.mid] = slot.track
        await self.subscribe_pc.setRemoteDescription(
            RTCSessionDescription(sdp=offer.sdp, type="offer")
        )
        if self._original_rtp is None:
            dtls = self.subscribe_pc.getTransceivers()[0].receiver.transport
            self._original_rtp, _ = glue.intercept(dtls, self._on_rtp, None)
            if self._drop_incoming is not None:
                self._lose_on_the_wire(dtls.transport)
        await self.subscribe_pc.setLocalDescription(await self.subscribe_pc.createAnswer())
        return str(self.subscribe_pc.localDescription.sdp)

    def track_of_ssrc(self, ssrc: int) -> TrackInfo | None:
        """The track an SSRC carries according to the last offer."""
        mid = self.mid_by_ssrc.get(ssrc)
        return self.track_by_mid.get(mid) if mid is not None else None

    async def _on_rtp(self, data: bytes, arrival_time_ms: int = 0) -> None:
        self._count(data)
        if self.decode and self._original_rtp is not None:
            await self._original_rtp(data, arrival_time_ms=arrival_time_ms)

    def _count(self, data: bytes) -> None:
        try:
            _, _, seq, _, ssrc = RTP_HEADER.unpack_from(data)
            counters = self.by_ssrc.get(ssrc)
            if counters is None:
                counters = self.by_ssrc[ssrc] = SsrcCounters()
                if self.first_packet_at is None:
                    self.first_packet_at = time.monotonic()
            counters.packets += 1
            counters.octets += len(data)
            track = self.track_of_ssrc(ssrc)
            key = track is not None and track.kind == "video"
            if counters.last_seq is None:
                if key:
                    detect = keyframe_detector(track.mime_type) if track else vp8_keyframe_start
                    counters.keyframe_starts.append(detect(data[payload_offset(data) :]))
            else:
                d = (seq - counters.last_seq) & 0xFFFF
                if d >= 0x8000:
                    counters.reordered += 1
                elif d != 1:
                    counters.seq_jumps += 1
            if counters.last_seq is None:
                counters.first_ext = counters.max_ext = seq
            elif 0 < ((seq - counters.last_seq) & 0xFFFF) < 0x8000:
                counters.max_ext += (seq - counters.last_seq) & 0xFFFF
            if counters.last_seq is None or ((seq - counters.last_seq) & 0xFFFF) < 0x8000:
                counters.last_seq = seq
            if track is not None:
                self.packets_by_track[track.track_id] += 1
            self.packet_event.set()
        except Exception:
            logger.exception("synthetic subscriber failed on a packet")

    def _lose_on_the_wire(self, ice: Any) -> None:
        """Drop chosen datagrams before SRTP sees them, as a lossy network would.

        (Dropping after decryption would make SRTP reject the retransmission as a replay.)
        """
        original = ice._recv

        async def recv() -> bytes:
            while True:
                data: bytes = await original()
                if len(data) >= 12 and 128 <= data[0] < 192 and not is_rtcp(data):
                    _, _, seq, _, ssrc = RTP_HEADER.unpack_from(data)
                    if self._first_drop(ssrc, seq):
                        self.dropped_incoming += 1
                        continue
                return data

        glue._set(ice, "_recv", recv)

    def _first_drop(self, ssrc: int, seq: int) -> bool:
        """Drop the first arrival of chosen video packets (retransmissions get through)."""
        track = self.track_of_ssrc(ssrc)
        if track is None or track.kind != "video" or (ssrc, seq) in self._seen_incoming:
            return False
        self._seen_incoming.add((ssrc, seq))
        return self._drop_incoming is not None and self._drop_incoming(seq)

    async def _consume(self, track: MediaStreamTrack) -> None:
        mid = None
        for transceiver in self.subscribe_pc.getTransceivers():
            if transceiver.receiver.track is track:
                mid = transceiver.mid
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                info = self.track_by_mid.get(mid) if mid is not None else None
                if info is None:
                    continue
                self.decoded_by_track[info.track_id] += 1
                if isinstance(frame, av.VideoFrame):
                    self.frame_sizes[info.track_id] = (frame.width, frame.height)
                self.frame_event.set()

    def first_packets_were_keyframes(self) -> list[bool]:
        """For every video SSRC received, whether its first packet started a keyframe."""
        return [k for c in self.by_ssrc.values() for k in c.keyframe_starts]

    async def close(self) -> None:
        """Close both connections and stop consumer tasks."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(self.publish_pc.close(), self.subscribe_pc.close())
