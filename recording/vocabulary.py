"""The fixed vocabularies of recordings. Values are stored in the database and shown in the
manifest; display names live in ``web/i18n/*/recording.json``."""

from __future__ import annotations

from enum import StrEnum


class RecordingStatus(StrEnum):
    """Where a recording session stands."""

    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"  # ended by the mediator (or the hearing's end); sealed afterwards
    INTERRUPTED = "interrupted"  # the process died while recording; found at the next start


class SegmentStatus(StrEnum):
    """A segment file's state."""

    OPEN = "open"  # being written
    CLOSED = "closed"  # complete, hashed, in the chain
    RECOVERED = "recovered"  # was open when the process died; hashed as found at restart
    MISSING = "missing"  # was open when the process died and nothing readable was left


class RecordingEventKind(StrEnum):
    """What the session's timeline records (each with wall-clock and session-clock time)."""

    START = "start"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    JOIN = "join"
    LEAVE = "leave"
    MOVE = "move"
    CONSENT = "consent"
    IDENTITY_CHECK = "identity_check"
    TRACK_START = "track_start"
    TRACK_END = "track_end"
    GAP = "gap"  # nothing recorded between ``detail.from_ms`` and ``detail.to_ms``
    DISK_LOW = "disk_low"  # recording stopped: too little space left
    CAUCUS_OPEN = "caucus_open"
    CAUCUS_CLOSE = "caucus_close"
    CAUCUS_RELEASE = "caucus_release"


class TrackKind(StrEnum):
    """Audio or video."""

    AUDIO = "audio"
    VIDEO = "video"


class TrackLabel(StrEnum):
    """What a recorded track carries."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"


class TranscriptStatus(StrEnum):
    """A transcript line's standing."""

    MACHINE_DRAFT = "machine_draft"
    ACCEPTED = "accepted"
