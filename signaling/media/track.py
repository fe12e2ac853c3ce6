"""A published track: the ingress side of forwarding.

Each RTP packet a publisher sends is parsed once (header fields only), counted, kept in a
small history when it is video (to answer subscribers' NACKs), and handed to every
:class:`~signaling.media.forward.Downstream` bound to the track. There is no jitter buffer
and no depacketising, so a lost packet cannot stall anyone: subscribers see a sequence
gap, NACK it, and the track NACKs its publisher; a packet still missing after a few
retries turns into a keyframe request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRtpfbPacket,
    clamp_packets_lost,
    pack_remb_fci,
)

from .config import MediaConfig
from .model import PublishedTrackStats, TrackInfo
from .rtp import keyframe_detector

if TYPE_CHECKING:
    from .forward import Downstream

logger = logging.getLogger(__name__)

# A forward jump larger than this is a restarted stream, not loss worth NACKing.
MAX_NACK_GAP = 128

HistoryEntry = tuple[int, int, int, int, bytes]
"""Extended sequence number, timestamp, first two header bytes, payload."""


class PublishedTrack:
    """One track (microphone, camera or screen) a participant publishes."""

    def __init__(
        self,
        info: TrackInfo,
        mid: str,
        config: MediaConfig,
        send_rtcp: Callable[[bytes], bool],
        rtcp_ssrc: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.info = info
        self.mid = mid
        self.ssrc: int | None = None
        self.payload_type = -1
        self.muted = False
        self._config = config
        self._send_rtcp = send_rtcp
        self._rtcp_ssrc = rtcp_ssrc
        self._loop = loop
        self._video = info.kind == "video"
        self._clock_rate = info.clock_rate
        self._detect = keyframe_detector(info.mime_type)
        self._downstreams: tuple[Downstream, ...] = ()
        self._closed = False

        # sequence state: extended numbers (cycles * 65536 + seq), -1 before the first packet
        self._base_ext = -1
        self.max_ext = -1
        self.last_ts = 0
        self.last_arrival = 0.0
        self._received = 0

        # history for retransmissions, video only
        size = config.video_history
        self._mask = size - 1
        self._history: list[HistoryEntry | None] | None = [None] * size if self._video else None

        # NACKs to the publisher: extended seq -> tries
        self._missing: dict[int, int] = {}
        self._last_nack = 0.0

        # keyframe requests
        self._last_pli = -1e9
        self._pli_timer: asyncio.TimerHandle | None = None

        # receiver report state
        self._jitter = 0.0
        self._expected_prior = 0
        self._received_prior = 0
        self._lsr = 0
        self._lsr_time = 0.0
        self.remb_limit: int | None = None

        # counters
        self.packets = 0
        self.octets = 0
        self.duplicates = 0
        self.recovered = 0
        self.nacks_sent = 0
        self.plis_sent = 0
        self._rate_octets = 0
        self._rate_time = time.monotonic()
        self.bitrate = 0

    # -- ingress -------------------------------------------------------------------------

    def on_rtp(self, data: bytes, offset: int, b0: int, b1: int, seq: int, ts: int) -> None:
        """Handle one decrypted RTP packet of this track (``offset``: payload start)."""
        now = time.monotonic()
        self.packets += 1
        self.octets += len(data)
        max_ext = self.max_ext
        if max_ext < 0:
            ext = self._base_ext = self.max_ext = seq
            self.last_ts = ts
            self.last_arrival = now
        else:
            d = (seq - max_ext) & 0xFFFF
            if d == 0:
                self.duplicates += 1
                return
            if d < 0x8000:
                ext = self.max_ext = max_ext + d
                if ts != self.last_ts:
                    transit = (now - self.last_arrival) * self._clock_rate - (
                        (ts - self.last_ts) & 0xFFFFFFFF
                    )
                    self._jitter += (abs(transit) - self._jitter) / 16
                self.last_ts = ts
                self.last_arrival = now
                if d > 1 and self._video:
                    self._on_gap(max_ext, d, now)
            else:
                ext = max_ext - (0x10000 - d)
                missing = self._missing
                if ext in missing:
                    del missing[ext]
                    self.recovered += 1
                elif self._history is not None:
                    entry = self._history[ext & self._mask]
                    if entry is not None and entry[0] == ext:
                        self.duplicates += 1
                        return
        self._received += 1
        if self._missing and now - self._last_nack >= self._config.nack_retry_interval:
            self._send_nacks(now)

        payload = data[offset:]
        if self._history is not None:
            self._history[ext & self._mask] = (ext, ts, b0, b1, payload)
        if self.muted or not self._downstreams:
            return
        key = self._detect(payload)
        for downstream in self._downstreams:
            downstream.forward(ext, ts, b0, b1, payload, key, now)

    def reset_stream(self) -> None:
        """The publisher switched SSRC: a new sequence space, restart downstreams at a keyframe."""
        for downstream in self._downstreams:
            downstream.freeze()
        self._base_ext = self.max_ext = -1
        self._received = self._expected_prior = self._received_prior = 0
        self._missing.clear()
        if self._history is not None:
            self._history = [None] * len(self._history)
        self.request_keyframe()

    def history(self, ext: int) -> HistoryEntry | None:
        """A recent packet by extended sequence number, if still kept."""
        if self._history is None:
            return None
        entry = self._history[ext & self._mask]
        return entry if entry is not None and entry[0] == ext else None

    def on_sender_report(self, ntp_timestamp: int) -> None:
        """Remember the publisher's last sender report (for LSR/DLSR in our reports)."""
        self._lsr = (ntp_timestamp >> 16) & 0xFFFFFFFF
        self._lsr_time = time.monotonic()

    # -- downstreams ---------------------------------------------------------------------

    @property
    def downstreams(self) -> tuple[Downstream, ...]:
        """Everything this track is forwarded to."""
        return self._downstreams

    def add_downstream(self, downstream: Downstream) -> None:
        """Start forwarding to ``downstream`` (it waits for a keyframe)."""
        if downstream not in self._downstreams:
            self._downstreams = (*self._downstreams, downstream)
        self.request_keyframe()

    def remove_downstream(self, downstream: Downstream) -> None:
        """Stop forwarding to ``downstream``."""
        self._downstreams = tuple(d for d in self._downstreams if d is not downstream)

    def set_muted(self, muted: bool) -> None:
        """Stop (or resume) forwarding; resuming restarts every downstream at a keyframe."""
        if muted == self.muted:
            return
        self.muted = muted
        for downstream in self._downstreams:
            downstream.freeze()
        if not muted:
            self.request_keyframe()

    # -- feedback to the publisher --------------------------------------------------------

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per ``keyframe_interval``."""
        if not self._video or self._closed:
            return
        now = time.monotonic()
        wait = self._last_pli + self._config.keyframe_interval - now
        if wait <= 0:
            self._send_pli(now)
        elif self._pli_timer is None:
            self._pli_timer = self._loop.call_later(wait, self._deferred_pli)

    def _deferred_pli(self) -> None:
        self._pli_timer = None
        if not self._closed:
            self._send_pli(time.monotonic())

    def _send_pli(self, now: float) -> None:
        if self.ssrc is None:
            return
        self._last_pli = now
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self._rtcp_ssrc, media_ssrc=self.ssrc)
        if self._send_rtcp(bytes(packet)):
            self.plis_sent += 1

    def _on_gap(self, previous: int, d: int, now: float) -> None:
        if d > MAX_NACK_GAP:
            self._missing.clear()
            self.request_keyframe()
            return
        missing = self._missing
        for ext in range(previous + 1, previous + d):
            missing[ext] = 0
        if len(missing) > MAX_NACK_GAP:
            missing.clear()
            self.request_keyframe()
            return
        self._send_nacks(now)

    def _send_nacks(self, now: float) -> None:
        self._last_nack = now
        missing = self._missing
        retries = self._config.nack_retries
        lost: list[int] = []
        given_up = False
        for ext, tries in list(missing.items()):
            if tries >= retries:
                del missing[ext]
                given_up = True
            else:
                missing[ext] = tries + 1
                lost.append(ext & 0xFFFF)
        if lost and self.ssrc is not None:
            packet = RtcpRtpfbPacket(
                fmt=RTCP_RTPFB_NACK, ssrc=self._rtcp_ssrc, media_ssrc=self.ssrc
            )
            packet.lost = lost
            if self._send_rtcp(bytes(packet)):
                self.nacks_sent += 1
        if given_up:
            self.request_keyframe()

    def report(self, now: float) -> tuple[RtcpReceiverInfo | None, int | None]:
        """Our receiver report block for this track and, for video, the REMB to announce."""
        elapsed = now - self._rate_time
        if elapsed > 0:
            self.bitrate = int((self.octets - self._rate_octets) * 8 / elapsed)
            self._rate_octets = self.octets
            self._rate_time = now
        if self.ssrc is None or self.max_ext < 0:
            return None, None
        expected = self.max_ext - self._base_ext + 1
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        dlsr = 0
        if self._lsr_time:
            delay = now - self._lsr_time
            if 0 < delay < 65536:
                dlsr = int(delay * 65536)
        block = RtcpReceiverInfo(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            packets_lost=clamp_packets_lost(expected - self._received),
            highest_sequence=self.max_ext & 0xFFFFFFFF,
            jitter=int(self._jitter),
            lsr=self._lsr,
            dlsr=dlsr,
        )
        remb = None
        if self._video:
            cap = (
                self._config.screen_max_bitrate
                if self.info.label == "screen"
                else self._config.camera_max_bitrate
            )
            limits = [d.remb for d in self._downstreams if d.remb]
            remb = min([cap, *limits])
            remb = max(remb, min(self._config.min_bitrate, cap))
        return block, remb

    @staticmethod
    def remb_packet(rtcp_ssrc: int, bitrate: int, ssrcs: list[int]) -> bytes:
        """A REMB feedback packet (caps the publisher's send bitrate)."""
        return bytes(
            RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP,
                ssrc=rtcp_ssrc,
                media_ssrc=0,
                fci=pack_remb_fci(bitrate, ssrcs),
            )
        )

    # -- life cycle ----------------------------------------------------------------------

    @property
    def lost(self) -> int:
        """Packets never received (after retransmissions)."""
        if self.max_ext < 0:
            return 0
        return max(0, self.max_ext - self._base_ext + 1 - self._received)

    def stats(self) -> PublishedTrackStats:
        """Counters for the connection quality mark."""
        return PublishedTrackStats(
            track_id=self.info.track_id,
            label=self.info.label,
            kind=self.info.kind,
            muted=self.muted,
            packets=self.packets,
            octets=self.octets,
            lost=self.lost,
            recovered=self.recovered,
            nacks_sent=self.nacks_sent,
            keyframe_requests_sent=self.plis_sent,
            bitrate=self.bitrate,
            jitter_ms=self._jitter * 1000 / self._clock_rate,
        )

    def close(self) -> list[Downstream]:
        """Stop forwarding; returns the downstreams that were bound (now unbound)."""
        self._closed = True
        if self._pli_timer is not None:
            self._pli_timer.cancel()
            self._pli_timer = None
        downstreams = list(self._downstreams)
        for downstream in downstreams:
            downstream.detach()
        self._downstreams = ()
        self._history = None
        return downstreams
