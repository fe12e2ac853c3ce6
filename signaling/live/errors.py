"""Typed errors of the live layer: each carries a message key that the ack translates."""

from __future__ import annotations

from typing import Any


class LiveError(Exception):
    """An event refused; the sender gets ``{"ok": false, "error": {...}}`` and nothing changes."""

    key = "error.live_internal"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(self.key)


class InvalidEvent(LiveError):
    """Malformed payload: wrong type, missing or extra field, too long, not one object."""

    key = "error.live_invalid"


class UnknownEvent(LiveError):
    """No such event."""

    key = "error.live_unknown_event"


class NotModerator(LiveError):
    """A moderator event from someone who is not a moderator of the hearing."""

    key = "error.live_forbidden"


class RateLimited(LiveError):
    """Too many events from one connection."""

    key = "error.live_rate_limited"


class HelloFirst(LiveError):
    """An event before ``hello``."""

    key = "error.live_hello_first"


class UnknownParticipant(LiveError):
    """The named participant is not in this hearing (or not connected where that matters)."""

    key = "error.live_unknown_participant"


class UnknownRoom(LiveError):
    """No such caucus room or location."""

    key = "error.live_unknown_room"


class InvalidTarget(LiveError):
    """An action on oneself that makes no sense (removing oneself: that is ``leave``)."""

    key = "error.live_invalid_target"


class Waiting(LiveError):
    """Chat from the waiting room, where nobody is to talk to."""

    key = "error.live_waiting"


class BadSdp(LiveError):
    """A session description the media worker refused."""

    key = "error.live_sdp"


class OutOfTurn(LiveError):
    """An offer or answer that does not fit the negotiation's state."""

    key = "error.live_negotiation"


class ConnectRefused(LiveError):
    """Why a socket.io connection was refused (sent as ``connect_error`` data)."""

    key = "error.live_not_signed_in"


class TooManyRooms(LiveError):
    """The hearing already has as many caucus rooms as one may open."""

    key = "error.live_too_many_rooms"


class Gone(LiveError):
    """An event on a connection that is being closed (left, removed, replaced)."""

    key = "error.live_gone"


class RecordingDiskLow(LiveError):
    """Too little free disk space to record (``free_mb``, ``min_free_mb``)."""

    key = "error.recording_disk_low"


class NotRecording(LiveError):
    """Pause, resume or stop when there is no such recording."""

    key = "error.recording_not_active"


class RecordingUnavailable(LiveError):
    """Recording could not start (the recorder is missing or failed)."""

    key = "error.recording_unavailable"
