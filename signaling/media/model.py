"""Plain data exchanged between the media worker and the signalling layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

TrackLabel = Literal["microphone", "camera", "screen"]
"""What a published track carries: the page shows a screen share differently."""

MediaKind = Literal["audio", "video"]

MAIN_ROOM = "main"
"""Id of the sub-room every session has; caucus rooms get ids chosen by the caller."""


@dataclass(frozen=True)
class TrackInfo:
    """One published track, as the signalling layer and recorders see it."""

    track_id: str
    participant_id: str
    label: TrackLabel
    kind: MediaKind
    mime_type: str
    clock_rate: int


@dataclass(frozen=True)
class SlotInfo:
    """One m-line of a subscribe connection and what it carries (``None``: idle)."""

    mid: str
    kind: MediaKind
    track: TrackInfo | None


@dataclass(frozen=True)
class SubscribeOffer:
    """The server's offer for a subscribe connection, with the meaning of each m-line."""

    sdp: str
    slots: tuple[SlotInfo, ...]


class MediaPacket(NamedTuple):
    """One encoded RTP payload handed to an in-process sink (a recorder).

    ``sequence`` and ``timestamp`` are rewritten like a subscriber's: continuous from the
    first packet the sink received, starting at a keyframe. A named tuple: one is made per
    recorded packet on the forwarding path, where a frozen dataclass costs over twice as much.
    """

    sequence: int
    timestamp: int
    marker: bool
    payload: bytes
    arrival: float


@dataclass(frozen=True)
class PublishedTrackStats:
    """Counters of one track a participant publishes (what reaches the server)."""

    track_id: str
    label: TrackLabel
    kind: MediaKind
    muted: bool
    packets: int
    octets: int
    lost: int
    recovered: int
    nacks_sent: int
    keyframe_requests_sent: int
    bitrate: int
    jitter_ms: float


@dataclass(frozen=True)
class SubscriptionStats:
    """Counters of one track forwarded to a participant (what the server sends them)."""

    mid: str
    track_id: str | None
    packets: int
    octets: int
    dropped: int
    retransmitted: int
    nacks_received: int
    keyframe_requests_received: int
    fraction_lost: float
    jitter_ms: float
    round_trip_ms: float | None


@dataclass(frozen=True)
class ParticipantStats:
    """Per-participant figures for the connection quality mark."""

    participant_id: str
    publish_state: str
    subscribe_state: str
    published: tuple[PublishedTrackStats, ...] = field(default=())
    subscribed: tuple[SubscriptionStats, ...] = field(default=())

    @property
    def quality(self) -> Literal["good", "fair", "poor", "unknown"]:
        """A coarse mark from upstream loss, downstream loss and round-trip time."""
        if self.publish_state == "failed" or self.subscribe_state == "failed":
            return "poor"
        loss = 0.0
        for track in self.published:
            expected = track.packets + track.lost
            if expected:
                loss = max(loss, track.lost / expected)
        rtts = [s.round_trip_ms for s in self.subscribed if s.round_trip_ms is not None]
        for sub in self.subscribed:
            loss = max(loss, sub.fraction_lost)
        if not self.published and not self.subscribed:
            return "unknown"
        rtt = max(rtts) if rtts else 0.0
        if loss > 0.08 or rtt > 600:
            return "poor"
        if loss > 0.02 or rtt > 250:
            return "fair"
        return "good"


@dataclass
class MediaTotals:
    """Counters of one media worker since it started (for ``/metrics``): what participants
    who left had reached, to which the live participants' current counters are added."""

    received_packets: int = 0
    lost_packets: int = 0
    forwarded_packets: int = 0
    forwarded_octets: int = 0
    dropped_packets: int = 0
    retransmitted_packets: int = 0
    nacks_received: int = 0
    nacks_sent: int = 0
    keyframe_requests_received: int = 0
    keyframe_requests_sent: int = 0

    def add(self, stats: ParticipantStats) -> None:
        """Add one participant's counters."""
        for track in stats.published:
            self.received_packets += track.packets
            self.lost_packets += track.lost
            self.nacks_sent += track.nacks_sent
            self.keyframe_requests_sent += track.keyframe_requests_sent
        for sub in stats.subscribed:
            self.forwarded_packets += sub.packets
            self.forwarded_octets += sub.octets
            self.dropped_packets += sub.dropped
            self.retransmitted_packets += sub.retransmitted
            self.nacks_received += sub.nacks_received
            self.keyframe_requests_received += sub.keyframe_requests_received

    def plus(self, other: MediaTotals) -> MediaTotals:
        """The sum of two totals."""
        return MediaTotals(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in self.__dataclass_fields__
            }
        )
