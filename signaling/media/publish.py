"""The publish connection: the browser offers its tracks once, the server answers.

The answer accepts exactly one codec per m-line (Opus; VP8, or H264 when the publisher
offers no VP8) and no RTX, so every packet that arrives can be forwarded as it is.
Incoming RTP is intercepted right after SRTP decryption and never reaches aiortc's
jitter buffer or decoder.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Mapping

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.codecs import CODECS
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcpeerconnection import find_common_codecs
from aiortc.rtp import HeaderExtensionsMap, RtcpPacket, RtcpRrPacket, RtcpSrPacket, RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription

from . import glue
from .config import MediaConfig
from .errors import NegotiationError, SdpError
from .model import MediaKind, TrackInfo, TrackLabel
from .rtp import RTP_HEADER, payload_offset
from .track import PublishedTrack

logger = logging.getLogger(__name__)

_unpack_header = RTP_HEADER.unpack_from
_SENDING = ("sendonly", "sendrecv")
MAX_SDP_LENGTH = 64 * 1024


def parse_sdp(sdp: str, expected_type: str) -> SessionDescription:
    """Parse a session description from a participant, or raise :class:`SdpError`."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise SdpError(f"empty {expected_type}")
    if len(sdp) > MAX_SDP_LENGTH:
        raise SdpError(f"{expected_type} is larger than {MAX_SDP_LENGTH} characters")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:
        raise SdpError(f"malformed {expected_type}: {exc!r}") from exc
    if description.version != 0 or not description.media:
        raise SdpError(f"{expected_type} has no media sections")
    for media in description.media:
        if media.kind in ("audio", "video"):
            if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
                raise SdpError(f"{expected_type} has no ICE credentials for {media.kind}")
            if media.dtls is None or not media.dtls.fingerprints:
                raise SdpError(f"{expected_type} has no DTLS fingerprint for {media.kind}")
    return description


def choose_codec(media: MediaDescription, preferred_video: tuple[str, ...]) -> str:
    """The MIME type we accept for an offered m-line, or raise :class:`SdpError`."""
    candidates = ("audio/opus",) if media.kind == "audio" else preferred_video
    for mime in candidates:
        local = [c for c in CODECS[media.kind] if c.mimeType.lower() == mime.lower()]
        if find_common_codecs(copy.deepcopy(local), media.rtp.codecs):
            return local[0].mimeType
    offered = ", ".join(sorted({c.mimeType for c in media.rtp.codecs})) or "nothing"
    raise SdpError(f"no supported {media.kind} codec offered (offered: {offered})")


def primary_ssrc(media: MediaDescription) -> int | None:
    """The media SSRC announced in an m-line (the first of an FID group)."""
    for group in media.ssrc_group:
        if group.semantic == "FID" and group.items:
            return int(group.items[0])
    return media.ssrc[0].ssrc if media.ssrc else None


class PublishConnection:
    """A participant's publish connection and the tracks it carries."""

    def __init__(
        self,
        participant_id: str,
        config: MediaConfig,
        on_state: Callable[[str], None],
    ) -> None:
        self.participant_id = participant_id
        self._config = config
        self._loop = asyncio.get_running_loop()
        self.pc = RTCPeerConnection(glue.rtc_configuration(config.ice_servers))
        self._tracks: dict[str, PublishedTrack] = {}
        self._by_ssrc: dict[int, PublishedTrack] = {}
        self._labels: dict[str, TrackLabel] = {}
        self._egress: glue.Egress | None = None
        self._rtcp_ssrc = 0
        self._hooked: list[RTCDtlsTransport] = []
        self.unknown_packets = 0
        self.errors = 0

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState == "connected":
                self.install_fast_ingress()
            on_state(self.pc.connectionState)

    @property
    def state(self) -> str:
        """The peer connection's state (``new``, ``connecting``, ``connected``, ...)."""
        return str(self.pc.connectionState)

    @property
    def tracks(self) -> list[PublishedTrack]:
        """Tracks being published, in m-line order."""
        return list(self._tracks.values())

    async def answer(
        self, offer_sdp: str, labels: Mapping[str, TrackLabel] | None = None
    ) -> tuple[str, list[PublishedTrack], list[PublishedTrack]]:
        """Apply a (re-)offer; returns the answer and the tracks added and removed."""
        description = parse_sdp(offer_sdp, "offer")
        if self.pc.signalingState != "stable":
            raise NegotiationError(f"publish connection is {self.pc.signalingState}")
        known = {t.mid for t in self.pc.getTransceivers()}
        new_media: list[tuple[MediaDescription, str]] = []
        audio = 0
        sending = 0
        for media in description.media:
            if media.kind not in ("audio", "video"):
                raise SdpError(f"{media.kind} m-lines are not accepted on a publish connection")
            if media.direction in _SENDING and media.port != 0:
                sending += 1
                audio += media.kind == "audio"
            if media.rtp.muxId not in known:
                if not media.rtp.muxId:
                    raise SdpError("every m-line needs a mid")
                new_media.append((media, choose_codec(media, self._config.preferred_video_codecs)))
        if sending > self._config.max_published_tracks or audio > 1:
            raise SdpError(
                f"at most one audio and {self._config.max_published_tracks} tracks in all"
            )
        new_labels = self._assign_labels(description, labels or {})

        for media, mime in new_media:
            transceiver = self.pc.addTransceiver(media.kind, direction="recvonly")
            transceiver.setCodecPreferences(glue.codec_capabilities(media.kind, mime))
        self._hook()
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except SdpError:
            raise
        except Exception as exc:
            raise SdpError(f"offer cannot be applied: {exc}") from exc
        self._labels.update(new_labels)
        added, removed = self._update_tracks(description)
        return self.pc.localDescription.sdp, added, removed

    def _assign_labels(
        self, description: SessionDescription, labels: Mapping[str, TrackLabel]
    ) -> dict[str, TrackLabel]:
        assigned = dict(self._labels)
        for mid, label in labels.items():
            if label not in ("microphone", "camera", "screen"):
                raise SdpError(f"unknown track label {label!r}")
            assigned[mid] = label
        for media in description.media:
            mid = media.rtp.muxId
            if mid in assigned:
                continue
            if media.kind == "audio":
                assigned[mid] = "microphone"
            else:
                assigned[mid] = "camera" if "camera" not in assigned.values() else "screen"
        for media in description.media:
            label = assigned[media.rtp.muxId]
            if (label == "microphone") != (media.kind == "audio"):
                raise SdpError(f"label {label!r} does not fit a {media.kind} m-line")
        active = [assigned[m.rtp.muxId] for m in description.media]
        if len(active) != len(set(active)):
            raise SdpError("two m-lines carry the same track label")
        return assigned

    def _update_tracks(
        self, description: SessionDescription
    ) -> tuple[list[PublishedTrack], list[PublishedTrack]]:
        added: list[PublishedTrack] = []
        removed: list[PublishedTrack] = []
        transceivers = {t.mid: t for t in self.pc.getTransceivers()}
        for media in description.media:
            mid = media.rtp.muxId
            sending = media.direction in _SENDING and media.port != 0
            track = self._tracks.get(mid)
            if track is not None and not sending:
                removed.append(self._drop(mid))
            elif track is None and sending:
                track = self._create(transceivers[mid], media)
                if track is not None:
                    added.append(track)
        return added, removed

    def _create(
        self, transceiver: RTCRtpTransceiver, media: MediaDescription
    ) -> PublishedTrack | None:
        codec = glue.negotiated_codec(transceiver)
        if codec is None or codec.payloadType is None:
            return None
        mid = media.rtp.muxId
        label = self._labels[mid]
        kind: MediaKind = "audio" if media.kind == "audio" else "video"
        info = TrackInfo(
            track_id=f"{self.participant_id}/{label}",
            participant_id=self.participant_id,
            label=label,
            kind=kind,
            mime_type=codec.mimeType,
            clock_rate=codec.clockRate,
        )
        track = PublishedTrack(
            info,
            mid=mid,
            config=self._config,
            send_rtcp=self._send_rtcp,
            rtcp_ssrc=self._rtcp_ssrc,
            loop=self._loop,
        )
        track.payload_type = codec.payloadType
        self._tracks[mid] = track
        ssrc = primary_ssrc(media)
        if ssrc is not None:
            self._bind_ssrc(track, ssrc)
        return track

    def _drop(self, mid: str) -> PublishedTrack:
        track = self._tracks.pop(mid)
        if track.ssrc is not None:
            self._by_ssrc.pop(track.ssrc, None)
        track.close()
        return track

    def _bind_ssrc(self, track: PublishedTrack, ssrc: int) -> None:
        if track.ssrc is not None and track.ssrc != ssrc:
            self._by_ssrc.pop(track.ssrc, None)
            track.reset_stream()
        track.ssrc = ssrc
        self._by_ssrc[ssrc] = track

    def _hook(self) -> None:
        for dtls in glue.dtls_transports(self.pc.getTransceivers()):
            if dtls in self._hooked:
                continue
            self._hooked.append(dtls)
            glue.intercept(dtls, self._on_rtp, self._on_rtcp)
            if self._egress is None:
                self._egress = glue.Egress(dtls, self._config.send_buffer_limit)
                self._rtcp_ssrc = glue.sender_ssrc(self.pc.getTransceivers()[0].sender)

    def _send_rtcp(self, packet: bytes) -> bool:
        return self._egress is not None and self._egress.send_rtcp(packet)

    # -- ingress -------------------------------------------------------------------------

    async def _on_rtp(self, data: bytes, arrival_time_ms: int = 0) -> None:
        self.ingest(data)

    def install_fast_ingress(self) -> None:
        """Take RTP straight from the socket once the connection is up (see glue)."""
        if self._hooked:
            glue.fast_ingress(self._hooked[0], self.ingest)

    def ingest(self, data: bytes) -> None:
        """One decrypted RTP packet from the publisher."""
        try:
            b0, b1, seq, ts, ssrc = _unpack_header(data)
            track = self._by_ssrc.get(ssrc)
            if track is None:
                track = self._resolve(data, ssrc)
                if track is None:
                    self.unknown_packets += 1
                    return
            if b1 & 0x7F != track.payload_type:
                self.unknown_packets += 1
                return
            track.on_rtp(data, payload_offset(data), b0, b1, seq, ts)
        except Exception:
            self._error("RTP")

    def _resolve(self, data: bytes, ssrc: int) -> PublishedTrack | None:
        """Find the track of an SSRC the offer did not announce (mid extension, else PT)."""
        dtls = self._hooked[0] if self._hooked else None
        extensions = getattr(dtls, "_rtp_header_extensions_map", None) or HeaderExtensionsMap()
        try:
            packet = RtpPacket.parse(data, extensions)
        except ValueError:
            return None
        track = None
        if packet.extensions.mid:
            track = self._tracks.get(packet.extensions.mid)
        if track is None:
            matching = [t for t in self._tracks.values() if t.payload_type == packet.payload_type]
            if len(matching) == 1:
                track = matching[0]
        if track is not None:
            self._bind_ssrc(track, ssrc)
        return track

    async def _on_rtcp(self, data: bytes) -> None:
        try:
            for packet in RtcpPacket.parse(data):
                if isinstance(packet, RtcpSrPacket):
                    track = self._by_ssrc.get(packet.ssrc)
                    if track is not None:
                        track.on_sender_report(packet.sender_info.ntp_timestamp)
        except ValueError:
            pass
        except Exception:
            self._error("RTCP")

    def _error(self, what: str) -> None:
        self.errors += 1
        if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
            logger.exception(
                "publish %s handling failed for %s (%d times)",
                what,
                self.participant_id,
                self.errors,
            )

    # -- reports -------------------------------------------------------------------------

    def send_reports(self) -> None:
        """Receiver reports and REMB for every track (called about once a second)."""
        if self._egress is None:
            return
        self._egress.invalidate()
        self.install_fast_ingress()  # again, in case ICE moved to another pair
        now = time.monotonic()
        blocks = []
        rembs: list[bytes] = []
        for track in self._tracks.values():
            block, remb = track.report(now)
            if block is not None:
                blocks.append(block)
                if remb is not None:
                    rembs.append(PublishedTrack.remb_packet(self._rtcp_ssrc, remb, [block.ssrc]))
        if blocks:
            packet = bytes(RtcpRrPacket(ssrc=self._rtcp_ssrc, reports=blocks[:31]))
            self._egress.send_rtcp(packet + b"".join(rembs))

    async def close(self) -> list[PublishedTrack]:
        """Close the connection; returns the tracks that were published."""
        tracks = [self._drop(mid) for mid in list(self._tracks)]
        await self.pc.close()
        return tracks
