"""Every place where the media worker reaches into aiortc's internals, and why.

aiortc has no public API for forwarding RTP packets, so the packet-level path borrows
aiortc's peer connection for SDP, ICE, DTLS and SRTP keys, and then:

- intercepts decrypted RTP/RTCP on a DTLS transport (``_handle_rtp_data`` and
  ``_handle_rtcp_data``, instance attributes, so only that connection is affected);
- sends through the transport's SRTP session and the nominated ICE pair's UDP socket
  directly (:class:`Egress`), skipping three coroutine hops per packet;
- keeps each ``RTCRtpSender``'s RTCP sender reports truthful by updating its counters.

The tests in ``tests/signaling`` exercise each of these against the installed aiortc.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pylibsrtp
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from .config import IceServer

logger = logging.getLogger(__name__)

RtpHandler = Callable[[bytes, int], Awaitable[None]]
RtcpHandler = Callable[[bytes], Awaitable[None]]


def rtc_configuration(servers: Sequence[IceServer]) -> RTCConfiguration:
    """Max-bundle with an explicit server list (never aiortc's default public STUN)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in servers
        ],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


def codec_capabilities(kind: str, mime_type: str) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities for one codec (both H264 profiles for ``video/H264``), no RTX."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() == mime_type.lower()]


class ParkedTrack(MediaStreamTrack):
    """A track that never yields a frame.

    aiortc's sender loop polls every 20 ms while its track is ``None``; parked on this track
    it sleeps instead. Packets are sent by the forwarder, never by that loop. A new parked
    track per binding also gives the m-line a new msid track id.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()


def dtls_transports(transceivers: Sequence[RTCRtpTransceiver]) -> list[RTCDtlsTransport]:
    """The distinct DTLS transports under some transceivers (one with max-bundle)."""
    seen: list[RTCDtlsTransport] = []
    for t in transceivers:
        dtls = t.receiver.transport
        if dtls not in seen:
            seen.append(dtls)
    return seen


def intercept(
    dtls: RTCDtlsTransport, on_rtp: RtpHandler | None, on_rtcp: RtcpHandler | None
) -> tuple[RtpHandler, RtcpHandler]:
    """Route decrypted packets of one DTLS transport to our handlers.

    Returns aiortc's own handlers so a caller can chain to them. Idempotent per handler.
    """
    original_rtp: RtpHandler = dtls._handle_rtp_data
    original_rtcp: RtcpHandler = dtls._handle_rtcp_data
    if on_rtp is not None:
        _set(dtls, "_handle_rtp_data", on_rtp)
    if on_rtcp is not None:
        _set(dtls, "_handle_rtcp_data", on_rtcp)
    return original_rtp, original_rtcp


def payload_type(transceiver: RTCRtpTransceiver) -> int | None:
    """The payload type of the first negotiated codec (the one a sender uses)."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    return codecs[0].payloadType if codecs else None


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    """The first negotiated codec of a transceiver."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    return codecs[0] if codecs else None


def sender_ssrc(sender: RTCRtpSender) -> int:
    """The SSRC aiortc put in the SDP for this sender (we send under it)."""
    ssrc: int = sender._ssrc
    return ssrc


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The msid stream id in the next offer: one per publisher, so browsers lip-sync."""
    sender._stream_id = stream_id


def update_sender_report(
    sender: RTCRtpSender, *, ntp_timestamp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """Feed aiortc's RTCP sender-report loop the figures of the forwarded stream."""
    _set(sender, "_RTCRtpSender__ntp_timestamp", ntp_timestamp)
    _set(sender, "_RTCRtpSender__rtp_timestamp", rtp_timestamp)
    _set(sender, "_RTCRtpSender__packet_count", packets)
    _set(sender, "_RTCRtpSender__octet_count", octets)


def sender_round_trip(sender: RTCRtpSender) -> float | None:
    """The sender's smoothed round-trip time in seconds, from receiver reports."""
    rtt = getattr(sender, "_RTCRtpSender__rtt", None)
    return float(rtt) if rtt is not None else None


def receiver_of(transceiver: RTCRtpTransceiver) -> RTCRtpReceiver:
    """The receiver of a transceiver (typed helper)."""
    receiver: RTCRtpReceiver = transceiver.receiver
    return receiver


def _set(obj: object, name: str, value: object) -> None:
    setattr(obj, name, value)


def srtp_functions(session: Any) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    """Leaner ``protect`` and ``unprotect`` for a pylibsrtp session (same libsrtp context).

    pylibsrtp's wrapper costs more than the encryption (type checks, six ``len`` calls, a
    cffi allocation per packet). These keep their own buffer and length cell. A failure
    raises ``pylibsrtp.Error`` like the originals; anything unexpected falls back to them.
    """
    try:
        from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]

        context = session._srtp[0]
    except (ImportError, AttributeError):  # pragma: no cover - another pylibsrtp
        return session.protect, session.unprotect
    ok = lib.srtp_err_status_ok

    def make(function: Any, trailer: int) -> Callable[[bytes], bytes]:
        cdata = ffi.new("char[]", 1500 + trailer)
        buffer = ffi.buffer(cdata)
        length = ffi.new("int *")
        limit = 1500

        def process(data: bytes) -> bytes:
            size = len(data)
            if size > limit:
                raise pylibsrtp.Error("packet is too long")
            length[0] = size
            buffer[0:size] = data
            status = function(context, cdata, length)
            if status != ok:
                raise pylibsrtp.Error(f"libsrtp error {status}")
            result: bytes = buffer[0 : length[0]]
            return result

        return process

    return make(lib.srtp_protect, 144), make(lib.srtp_unprotect, 0)


def socket_buffers(dtls: RTCDtlsTransport, size: int) -> bool:
    """Give the nominated pair's UDP socket ``size`` bytes of send and receive buffer.

    The default (about 200 kB, ~90 full packets) overflows when the event loop is busy for
    a fraction of a second; a larger buffer turns such a pause into delay, not loss.
    """
    if dtls.state != "connected":
        return False
    pair = dtls.transport._connection._nominated.get(1)
    sock = getattr(getattr(pair, "protocol", None), "transport", None)
    sock = getattr(sock, "_sock", None)
    if not isinstance(sock, socket.socket):
        return False
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return True


def fast_ingress(dtls: RTCDtlsTransport, on_rtp: Callable[[bytes], None]) -> bool:
    """Take SRTP packets straight from the nominated pair's socket protocol.

    aiortc's path per packet is: try to parse it as STUN (an exception), queue it, wake the
    DTLS task, decrypt, await two coroutines. Here RTP is decrypted and handed over in the
    socket callback; everything else (STUN, DTLS, RTCP) still takes aiortc's path. Returns
    whether the hook is in place (the connection must be up); safe to call again.
    """
    srtp = dtls._rx_srtp
    if dtls.state != "connected" or srtp is None:
        return False
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return False
    protocol = pair.protocol
    if getattr(protocol, "_fast_ingress", None) == on_rtp:  # bound methods: equal, not same
        return True
    original = protocol.datagram_received
    _, unprotect = srtp_functions(srtp)

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        # RTP (not RTCP: payload types 192-223) over SRTP, RFC 7983 demultiplexing.
        if len(data) > 12 and 127 < data[0] < 192 and not 191 < data[1] < 224:
            try:
                plain = unprotect(data)
            except pylibsrtp.Error:
                return
            on_rtp(plain)
        else:
            original(data, addr)

    _set(protocol, "datagram_received", datagram_received)
    _set(protocol, "_fast_ingress", on_rtp)
    _drain_reads(protocol.transport, datagram_received)
    return True


def _drain_reads(transport: Any, datagram_received: Callable[[bytes, Any], None]) -> None:
    """Read every queued datagram per wake-up instead of one.

    asyncio's datagram transport reads a single datagram each time the socket is
    readable, so every packet pays a full event-loop iteration. When the loop falls
    behind, packets queue in the socket; reading them in one go is what keeps up.
    """
    sock = getattr(transport, "_sock", None)
    loop = getattr(transport, "_loop", None)
    if not isinstance(sock, socket.socket) or loop is None or transport.is_closing():
        return
    recvfrom = sock.recvfrom
    fd = sock.fileno()

    def drain() -> None:
        for _ in range(64):
            try:
                data, addr = recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # ICMP errors and the like: aiortc ignores them too
            try:
                datagram_received(data, addr)
            except Exception:
                logger.exception("datagram handling failed")

    # The public add_reader() refuses descriptors owned by a transport; the transport
    # itself registers through these two, and removes the reader the same way on close.
    remove_reader = getattr(loop, "_remove_reader", None)
    add_reader = getattr(loop, "_add_reader", None)
    if remove_reader is None or add_reader is None:
        return
    remove_reader(fd)
    add_reader(fd, drain)


class Egress:
    """Sends RTP/RTCP over one connection: SRTP-protect, then ``sendto`` on the ICE socket.

    Everything is synchronous. A packet is dropped (``False``) while the connection is not
    up, or when the socket's buffers (``limit`` bytes, set on the socket) are full: a slow
    path never makes memory grow without bound.
    """

    def __init__(self, dtls: RTCDtlsTransport, limit: int) -> None:
        self._dtls = dtls
        self._limit = limit
        self._route: tuple[Any, ...] | None = None
        self.failures = 0
        dtls.on("statechange", self.invalidate)

    @property
    def ready(self) -> bool:
        """Whether packets can be sent now."""
        return self._route is not None or self._resolve() is not None

    def invalidate(self) -> None:
        """Forget the cached route (state change, or periodically to follow ICE)."""
        self._route = None

    def _resolve(self) -> tuple[Any, ...] | None:
        dtls = self._dtls
        if dtls.state != "connected" or dtls._tx_srtp is None:
            return None
        connection = dtls.transport._connection
        pair = connection._nominated.get(1)
        if pair is None:
            return None
        udp = pair.protocol.transport
        srtp = dtls._tx_srtp
        protect, _ = srtp_functions(srtp)
        sock = getattr(udp, "_sock", None)
        sendto: Callable[[bytes, Any], Any]
        if isinstance(sock, socket.socket) and sock.type == socket.SOCK_DGRAM:
            # Straight to the non-blocking socket: a full kernel buffer drops the packet
            # (BlockingIOError) instead of queueing it in user space.
            socket_buffers(dtls, self._limit)
            sendto = sock.sendto
            buffered = None
        else:  # a TURN relay: aioice's transport wraps the data
            sendto = udp.sendto
            buffered = getattr(udp, "get_write_buffer_size", None)
        self._route = (protect, srtp.protect_rtcp, sendto, pair.remote_addr, buffered)
        return self._route

    def send_rtp(self, packet: bytes) -> bool:
        """Protect and send one RTP packet; ``False`` when it was dropped."""
        route = self._route or self._resolve()
        if route is None:
            return False
        protect, _, sendto, addr, buffered = route
        if buffered is not None and buffered() > self._limit:
            return False
        try:
            sendto(protect(packet), addr)
        except BlockingIOError:
            return False
        except Exception:
            self._failed()
            return False
        return True

    def send_rtcp(self, packet: bytes) -> bool:
        """Protect and send one (compound) RTCP packet."""
        route = self._route or self._resolve()
        if route is None:
            return False
        _, protect_rtcp, sendto, addr, _ = route
        try:
            sendto(protect_rtcp(packet), addr)
        except BlockingIOError:
            return False
        except Exception:
            self._failed()
            return False
        return True

    def _failed(self) -> None:
        self.failures += 1
        self._route = None
        if self.failures in (1, 10, 100) or self.failures % 1000 == 0:
            logger.warning("media send failed (%d times)", self.failures, exc_info=True)
