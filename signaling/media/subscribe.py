"""The subscribe connection: the server offers one m-line per track a participant may
receive, and re-offers when tracks come and go.

Each m-line is a :class:`Slot`: a downstream that sends under the m-line's SSRC and
payload type. Slots are reused across tracks of the same kind and codec, so the m-line
count only grows to the most tracks received at once. Removing a track from a slot takes
effect at once (that is what isolates caucus rooms); a new track starts flowing only when
the answer to the offer that announced it has been applied, so the page always knows what
a slot carries before its packets arrive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.clock import current_ntp_time
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from . import glue
from .config import MediaConfig
from .errors import NegotiationError, SdpError
from .forward import RtpDownstream
from .model import MediaKind, SlotInfo, SubscribeOffer, SubscriptionStats
from .publish import parse_sdp
from .track import PublishedTrack

logger = logging.getLogger(__name__)


class Slot(RtpDownstream):
    """One sendonly m-line of a subscribe connection."""

    def __init__(
        self,
        transceiver: RTCRtpTransceiver,
        kind: MediaKind,
        mime_type: str,
        send: Callable[[bytes], bool],
        ready: Callable[[], bool],
    ) -> None:
        super().__init__(glue.sender_ssrc(transceiver.sender), send, ready)
        self.transceiver = transceiver
        self.kind: MediaKind = kind
        self.mime_type = mime_type
        self.wanted: PublishedTrack | None = None
        self.announced: PublishedTrack | None = None
        self.negotiated = False
        self.fraction_lost = 0.0
        self.jitter = 0

    @property
    def mid(self) -> str | None:
        """The m-line's mid once an offer has been made."""
        mid: str | None = self.transceiver.mid
        return mid

    def on_report(self, report: RtcpReceiverInfo) -> None:
        """A receiver report block from the subscriber about this slot."""
        self.fraction_lost = report.fraction_lost / 256
        self.jitter = report.jitter

    def stats(self) -> SubscriptionStats:
        """Counters for the connection quality mark."""
        rtt = glue.sender_round_trip(self.transceiver.sender)
        return SubscriptionStats(
            mid=self.mid or "",
            track_id=self.source.info.track_id if self.source else None,
            packets=self.packets,
            octets=self.octets,
            dropped=self.dropped,
            retransmitted=self.retransmitted,
            nacks_received=self.nacks_received,
            keyframe_requests_received=self.keyframe_requests,
            fraction_lost=self.fraction_lost,
            jitter_ms=self.jitter * 1000 / self._clock_rate,
            round_trip_ms=rtt * 1000 if rtt is not None else None,
        )


class SubscribeConnection:
    """A participant's subscribe connection: what they receive from others."""

    def __init__(self, participant_id: str, config: MediaConfig, on_state: Callable[[str], None]):
        self.participant_id = participant_id
        self._config = config
        self.pc = RTCPeerConnection(glue.rtc_configuration(config.ice_servers))
        self.slots: list[Slot] = []
        self._by_ssrc: dict[int, Slot] = {}
        self._egress: glue.Egress | None = None
        self._offered: list[tuple[Slot, PublishedTrack | None]] | None = None
        self.needs_offer = False
        self.errors = 0

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            state = self.pc.connectionState
            if state == "connected":
                # Packets sent before DTLS came up were gated: ask for fresh keyframes.
                for slot in self.slots:
                    slot.on_keyframe_request()
            on_state(state)

    @property
    def state(self) -> str:
        """The peer connection's state."""
        return str(self.pc.connectionState)

    def tracks(self) -> list[PublishedTrack]:
        """Tracks this participant is meant to receive (announced or not yet)."""
        return [slot.wanted for slot in self.slots if slot.wanted is not None]

    def reconcile(self, desired: Sequence[PublishedTrack]) -> bool:
        """Make the slots carry exactly ``desired``; ``True`` when a new offer is needed."""
        changed = False
        keep = set(desired)
        for slot in self.slots:
            if slot.wanted is not None and slot.wanted not in keep:
                slot.wanted = None
                slot.detach()
                changed = True
        present = {slot.wanted for slot in self.slots}
        for track in desired:
            if track in present:
                continue
            slot = self._idle_slot(track) or self._add_slot(track)
            slot.wanted = track
            changed = True
        if changed:
            self.needs_offer = True
        return changed

    def _idle_slot(self, track: PublishedTrack) -> Slot | None:
        for slot in self.slots:
            if (
                slot.wanted is None
                and slot.kind == track.info.kind
                and slot.mime_type == track.info.mime_type
            ):
                return slot
        return None

    def _add_slot(self, track: PublishedTrack) -> Slot:
        kind = track.info.kind
        transceiver = self.pc.addTransceiver(kind, direction="sendonly")
        transceiver.setCodecPreferences(glue.codec_capabilities(kind, track.info.mime_type))
        transceiver.sender.replaceTrack(glue.ParkedTrack(kind))
        if self._egress is None:
            dtls = transceiver.receiver.transport
            glue.intercept(dtls, None, self._on_rtcp)
            self._egress = glue.Egress(dtls, self._config.send_buffer_limit)
        egress = self._egress
        slot = Slot(
            transceiver,
            kind,
            track.info.mime_type,
            egress.send_rtp,
            lambda: egress.ready,
        )
        self.slots.append(slot)
        self._by_ssrc[slot.ssrc] = slot
        return slot

    async def offer(self) -> SubscribeOffer | None:
        """Create and apply a new offer; ``None`` while there is nothing to receive."""
        if self.pc.signalingState != "stable":
            raise NegotiationError("the previous subscribe offer has not been answered")
        if not self.slots:
            return None
        for slot in self.slots:
            if slot.announced is not slot.wanted or slot.mid is None:
                sender = slot.transceiver.sender
                sender.replaceTrack(glue.ParkedTrack(slot.kind))
                glue.set_stream_id(sender, slot.wanted.info.participant_id if slot.wanted else "-")
        self._offered = [(slot, slot.wanted) for slot in self.slots]
        self.needs_offer = False
        await self.pc.setLocalDescription(await self.pc.createOffer())
        infos = []
        for slot, track in self._offered:
            slot.announced = track
            infos.append(
                SlotInfo(mid=slot.mid or "", kind=slot.kind, track=track.info if track else None)
            )
        return SubscribeOffer(sdp=self.pc.localDescription.sdp, slots=tuple(infos))

    async def answer(self, answer_sdp: str) -> None:
        """Apply the subscriber's answer; announced tracks start flowing at a keyframe."""
        if self.pc.signalingState != "have-local-offer" or self._offered is None:
            raise NegotiationError("no subscribe offer is waiting for an answer")
        parse_sdp(answer_sdp, "answer")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except Exception as exc:
            raise SdpError(f"answer cannot be applied: {exc}") from exc
        offered, self._offered = self._offered, None
        for slot, track in offered:
            payload_type = glue.payload_type(slot.transceiver)
            if payload_type is None:
                continue
            slot.payload_type = payload_type
            slot.negotiated = True
            if track is not None and slot.wanted is track and slot.source is not track:
                slot.attach(track)

    async def _on_rtcp(self, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            return
        try:
            by_ssrc = self._by_ssrc
            for packet in packets:
                if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                    for report in packet.reports:
                        slot = by_ssrc.get(report.ssrc)
                        if slot is not None:
                            slot.on_report(report)
                            # aiortc's sender computes the round-trip time from LSR/DLSR.
                            await slot.transceiver.sender._handle_rtcp_packet(packet)
                elif isinstance(packet, RtcpRtpfbPacket):
                    slot = by_ssrc.get(packet.media_ssrc)
                    if slot is not None and packet.fmt == RTCP_RTPFB_NACK:
                        slot.on_nack(packet.lost)
                elif isinstance(packet, RtcpPsfbPacket):
                    self._on_psfb(packet)
        except Exception:
            self.errors += 1
            if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
                logger.exception("subscribe RTCP handling failed for %s", self.participant_id)

    def _on_psfb(self, packet: RtcpPsfbPacket) -> None:
        by_ssrc = self._by_ssrc
        if packet.fmt == RTCP_PSFB_PLI:
            slot = by_ssrc.get(packet.media_ssrc)
            if slot is not None:
                slot.on_keyframe_request()
        elif packet.fmt == RTCP_PSFB_FIR:
            fci = packet.fci
            for pos in range(0, len(fci) - 7, 8):
                slot = by_ssrc.get(int.from_bytes(fci[pos : pos + 4], "big"))
                if slot is not None:
                    slot.on_keyframe_request()
        elif packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            for ssrc in ssrcs:
                slot = by_ssrc.get(ssrc)
                if slot is not None:
                    slot.remb = bitrate

    def refresh_sender_reports(self) -> None:
        """Keep aiortc's RTCP sender reports in step with what the slots forwarded."""
        if self._egress is not None:
            self._egress.invalidate()
        now = time.monotonic()
        ntp = current_ntp_time()
        for slot in self.slots:
            if slot.packets:
                rtp_timestamp, packets = slot.last_output(now)
                glue.update_sender_report(
                    slot.transceiver.sender,
                    ntp_timestamp=ntp,
                    rtp_timestamp=rtp_timestamp,
                    packets=packets & 0xFFFFFFFF,
                    octets=slot.octets & 0xFFFFFFFF,
                )

    def detach_all(self) -> None:
        """Stop everything flowing to this participant at once."""
        for slot in self.slots:
            slot.wanted = None
            slot.detach()

    async def close(self) -> None:
        """Stop forwarding and close the connection."""
        self.detach_all()
        await self.pc.close()
