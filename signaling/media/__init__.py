"""The media plane: a forwarding SFU on aiortc that never decodes or re-encodes.

Entry point for the signalling layer::

    async with MediaWorker(MediaConfig(ice_servers=...), events) as worker:
        room = worker.room(session_id)
        p = room.join(participant_id, role, display_name)      # waiting room
        answer = await p.publish_answer(browser_offer)
        room.admit(participant_id)                              # -> main room
        # on events.renegotiation_needed(room_id, participant_id):
        offer = await p.subscribe_offer()                       # sdp + mid -> track map
        await p.subscribe_answer(browser_answer)
        room.open_sub_room("caucus-1"); room.move(participant_id, "caucus-1")
        await room.remove(participant_id)

Forwarding is packet-level: see :mod:`signaling.media.track` (ingress) and
:mod:`signaling.media.forward` (per-subscriber rewriting).
"""

from .config import IceServer, MediaConfig
from .errors import (
    ClosedError,
    DuplicateParticipant,
    MediaError,
    NegotiationError,
    SdpError,
    UnknownParticipant,
    UnknownSubRoom,
)
from .events import ConnectionName, MediaEvents
from .model import (
    MAIN_ROOM,
    MediaKind,
    MediaPacket,
    MediaTotals,
    ParticipantStats,
    PublishedTrackStats,
    SlotInfo,
    SubscribeOffer,
    SubscriptionStats,
    TrackInfo,
    TrackLabel,
)
from .participant import Participant
from .room import Room
from .sink import MediaSink, QueueSink, SinkHandle
from .worker import MediaWorker

__all__ = [
    "MAIN_ROOM",
    "ClosedError",
    "ConnectionName",
    "DuplicateParticipant",
    "IceServer",
    "MediaConfig",
    "MediaError",
    "MediaEvents",
    "MediaKind",
    "MediaPacket",
    "MediaSink",
    "MediaTotals",
    "MediaWorker",
    "NegotiationError",
    "Participant",
    "ParticipantStats",
    "PublishedTrackStats",
    "QueueSink",
    "Room",
    "SdpError",
    "SinkHandle",
    "SlotInfo",
    "SubscribeOffer",
    "SubscriptionStats",
    "TrackInfo",
    "TrackLabel",
    "UnknownParticipant",
    "UnknownSubRoom",
]
