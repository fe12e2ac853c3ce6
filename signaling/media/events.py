"""What the media worker tells the signalling layer.

Subclass :class:`MediaEvents` and override what you need. Callbacks run synchronously
inside the worker: they must not block (schedule a task to talk to a browser). An
exception in a callback is logged and does not disturb the worker.
"""

from __future__ import annotations

from typing import Literal

from .model import TrackInfo

ConnectionName = Literal["publish", "subscribe"]


class MediaEvents:
    """No-op defaults for every event."""

    def renegotiation_needed(self, room_id: str, participant_id: str) -> None:
        """Call ``participant.subscribe_offer()`` and send the offer to this participant."""

    def track_published(self, room_id: str, track: TrackInfo) -> None:
        """A participant started publishing a track (microphone, camera or screen)."""

    def track_unpublished(self, room_id: str, track: TrackInfo) -> None:
        """A track stopped (its publisher left, re-offered without it, or was removed)."""

    def connection_state(
        self, room_id: str, participant_id: str, connection: ConnectionName, state: str
    ) -> None:
        """A participant's connection changed state (``connected``, ``failed``, ``closed``)."""
