"""Configuration of a media worker."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server handed to every peer connection (aiortc uses one of each)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class MediaConfig:
    """Everything a :class:`~signaling.media.worker.MediaWorker` can be told.

    The ICE server list is explicit and empty by default: aiortc would otherwise use a
    public STUN server, which government networks cannot reach and must not be told about.
    """

    ice_servers: tuple[IceServer, ...] = ()
    # Bitrate caps announced to publishers with REMB (the browser also caps with setParameters).
    camera_max_bitrate: int = 1_000_000
    screen_max_bitrate: int = 1_500_000
    # Lowest bitrate a subscriber's REMB can push a publisher down to.
    min_bitrate: int = 150_000
    # At most one keyframe request per published track in this many seconds.
    keyframe_interval: float = 0.5
    # Packets of each published video track kept to answer subscribers' NACKs (power of 2).
    video_history: int = 256
    # Socket buffer (send and receive) of each connection: beyond it packets drop.
    send_buffer_limit: int = 1024 * 1024
    # How often receiver reports, REMB and sender-report counters are refreshed.
    report_interval: float = 1.0
    # Published tracks a participant may offer at once (microphone, camera, screen).
    max_published_tracks: int = 3
    # Times one missing publisher packet is NACKed before a keyframe is asked for instead.
    nack_retries: int = 3
    nack_retry_interval: float = 0.05
    preferred_video_codecs: tuple[str, ...] = field(default=("video/VP8", "video/H264"))

    def __post_init__(self) -> None:
        if self.video_history & (self.video_history - 1) or self.video_history < 16:
            raise ValueError("video_history must be a power of two, at least 16")
        if self.keyframe_interval <= 0 or self.report_interval <= 0:
            raise ValueError("intervals must be positive")
        for codec in self.preferred_video_codecs:
            if codec.lower() not in ("video/vp8", "video/h264"):
                raise ValueError(f"unsupported video codec {codec}")
