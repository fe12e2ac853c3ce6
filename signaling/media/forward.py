"""Downstreams: where a published track's packets go, one per subscriber or sink.

A downstream rewrites the sequence number and timestamp so that what it emits is one
continuous stream, whichever track feeds it and however often that changes (publisher
switch, mute, keyframe gating): on every (re)start the output continues right after the
last packet it emitted. It starts only at a keyframe and asks for one when bound.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from .rtp import RTP_HEADER

if TYPE_CHECKING:
    from .track import PublishedTrack

_pack_header = RTP_HEADER.pack

RESEND_GUARD = 0.05
"""Seconds before the same packet is retransmitted to the same subscriber again."""


class Downstream(ABC):
    """Base of everything a :class:`PublishedTrack` forwards to."""

    def __init__(self) -> None:
        self.source: PublishedTrack | None = None
        self.started = False
        self._seq_off = 0
        self._ts_off = 0
        self._start_ext = 0
        self._clock_rate = 90000
        # Output position after the last emitted packet of a previous binding.
        self._last_seq: int | None = None
        self._last_ts = 0
        self._last_time = 0.0
        self.remb: int | None = None
        self._resent: dict[int, float] = {}
        # counters
        self.packets = 0
        self.octets = 0
        self.dropped = 0
        self.gated = 0
        self.retransmitted = 0
        self.nacks_received = 0
        self.keyframe_requests = 0

    # -- binding -------------------------------------------------------------------------

    def attach(self, track: PublishedTrack) -> None:
        """Forward ``track`` from its next keyframe on (and ask for one now)."""
        if self.source is track:
            return
        self.detach()
        self.source = track
        self._clock_rate = track.info.clock_rate
        self.started = False
        track.add_downstream(self)

    def detach(self) -> None:
        """Stop forwarding; the output position is kept for the next binding."""
        source = self.source
        if source is None:
            return
        self.freeze()
        self.source = None
        source.remove_downstream(self)

    def freeze(self) -> None:
        """Remember where the output stands and wait for a keyframe before going on."""
        source = self.source
        if self.started and source is not None:
            self._last_seq = (source.max_ext + self._seq_off) & 0xFFFF
            self._last_ts = (source.last_ts + self._ts_off) & 0xFFFFFFFF
            self._last_time = source.last_arrival
        self.started = False

    def _start(self, ext: int, ts: int, now: float) -> None:
        if self._last_seq is None:
            first_seq = random.getrandbits(15)
            first_ts = random.getrandbits(32)
        else:
            first_seq = (self._last_seq + 1) & 0xFFFF
            gap = max(1, int((now - self._last_time) * self._clock_rate))
            first_ts = (self._last_ts + gap) & 0xFFFFFFFF
        self._seq_off = first_seq - ext
        self._ts_off = first_ts - ts
        self._start_ext = ext
        self.started = True

    # -- hot path ------------------------------------------------------------------------

    def forward(
        self, ext: int, ts: int, b0: int, b1: int, payload: bytes, key: bool, now: float
    ) -> None:
        """Rewrite and emit one packet of the source track."""
        if self.started:
            if ext < self._start_ext:
                return
        elif not key or not self.ready():
            self.gated += 1
            return
        else:
            self._start(ext, ts, now)
        self._emit(
            (ext + self._seq_off) & 0xFFFF, (ts + self._ts_off) & 0xFFFFFFFF, b0, b1, payload
        )

    @abstractmethod
    def _emit(self, seq: int, ts: int, b0: int, b1: int, payload: bytes) -> None:
        """Deliver one rewritten packet."""

    def ready(self) -> bool:
        """Whether emitting makes sense now (a connection may still be coming up)."""
        return True

    # -- feedback from the subscriber ----------------------------------------------------

    def on_nack(self, lost: list[int]) -> None:
        """Retransmit what the subscriber lost, from the source's history.

        A packet is resent at most once per ``RESEND_GUARD`` seconds: receivers repeat their
        whole missing list in every NACK, which would otherwise multiply retransmissions.
        """
        self.nacks_received += 1
        source = self.source
        if source is None or not self.started:
            return
        now = time.monotonic()
        resent = self._resent
        if len(resent) > 512:
            resent.clear()
        top = source.max_ext
        top16 = top & 0xFFFF
        for seq in lost:
            in16 = (seq - self._seq_off) & 0xFFFF
            d = (in16 - top16) & 0xFFFF
            ext = top + d - 0x10000 if d >= 0x8000 else top + d
            if ext < self._start_ext or ext > top:
                continue
            entry = source.history(ext)
            if entry is None or now - resent.get(ext, -1.0) < RESEND_GUARD:
                continue
            resent[ext] = now
            _, ts, b0, b1, payload = entry
            self.retransmitted += 1
            self._emit(seq, (ts + self._ts_off) & 0xFFFFFFFF, b0, b1, payload)

    def on_keyframe_request(self) -> None:
        """The subscriber lost the picture: ask the publisher (rate-limited there)."""
        self.keyframe_requests += 1
        if self.source is not None:
            self.source.request_keyframe()

    def last_output(self, now: float) -> tuple[int, int]:
        """Output RTP timestamp that corresponds to ``now``, and packets sent (for SRs)."""
        source = self.source
        if self.started and source is not None:
            ts = source.last_ts + self._ts_off
            elapsed = now - source.last_arrival
        else:
            ts = self._last_ts
            elapsed = now - self._last_time if self._last_seq is not None else 0.0
        return (ts + int(max(0.0, elapsed) * self._clock_rate)) & 0xFFFFFFFF, self.packets


class RtpDownstream(Downstream):
    """Forwards to one m-line of a subscriber's connection, under that m-line's SSRC."""

    def __init__(self, ssrc: int, send: Callable[[bytes], bool], ready: Callable[[], bool]) -> None:
        super().__init__()
        self.ssrc = ssrc
        self.payload_type = 0
        self._send = send
        self._ready = ready

    def ready(self) -> bool:
        return self._ready()

    def forward(
        self, ext: int, ts: int, b0: int, b1: int, payload: bytes, key: bool, now: float
    ) -> None:
        """:meth:`Downstream.forward` and :meth:`_emit` in one call: the hot path."""
        if self.started:
            if ext < self._start_ext:
                return
        elif not key or not self._ready():
            self.gated += 1
            return
        else:
            self._start(ext, ts, now)
        packet = (
            _pack_header(
                0x80 | (b0 & 0x20),
                (b1 & 0x80) | self.payload_type,
                (ext + self._seq_off) & 0xFFFF,
                (ts + self._ts_off) & 0xFFFFFFFF,
                self.ssrc,
            )
            + payload
        )
        if self._send(packet):
            self.packets += 1
            self.octets += len(packet)
        else:
            self.dropped += 1

    def _emit(self, seq: int, ts: int, b0: int, b1: int, payload: bytes) -> None:
        packet = (
            _pack_header(0x80 | (b0 & 0x20), (b1 & 0x80) | self.payload_type, seq, ts, self.ssrc)
            + payload
        )
        if self._send(packet):
            self.packets += 1
            self.octets += len(packet)
        else:
            self.dropped += 1
