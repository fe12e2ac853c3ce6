"""Typed errors raised by the media worker.

The signalling layer maps them: :class:`SdpError` and :class:`NegotiationError` are the
client's fault (reject the event, others are unaffected); :class:`UnknownParticipant` and
:class:`UnknownSubRoom` mean the caller's view of the room is stale.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class of every error the media worker raises on purpose."""


class SdpError(MediaError):
    """A session description from a participant is malformed or asks for what we refuse."""


class NegotiationError(MediaError):
    """An offer or answer arrived in a state where it cannot be applied."""


class UnknownParticipant(MediaError):
    """No participant with that id is in the room."""


class DuplicateParticipant(MediaError):
    """A participant with that id is already in the room (use ``Room.rejoin``)."""


class UnknownSubRoom(MediaError):
    """No sub-room (main room or caucus room) with that id is open."""


class ClosedError(MediaError):
    """The worker, room or participant has been closed."""
