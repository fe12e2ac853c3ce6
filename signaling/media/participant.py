"""A participant in a room: one publish and one subscribe connection."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .config import MediaConfig
from .errors import ClosedError
from .events import ConnectionName
from .model import ParticipantStats, SubscribeOffer, TrackInfo, TrackLabel
from .publish import PublishConnection
from .subscribe import SubscribeConnection
from .track import PublishedTrack

if TYPE_CHECKING:
    from .room import Room


class Participant:
    """Someone in a session, as the media plane sees them.

    ``location`` is the sub-room they are in, or ``None`` in the waiting room (receives
    nothing, and nobody receives them). Identity and rights are the signalling layer's
    business: it must only call these methods for the participant its session names.
    """

    def __init__(
        self,
        room: Room,
        participant_id: str,
        role: str,
        display_name: str,
        location: str | None,
        config: MediaConfig,
    ) -> None:
        self.room = room
        self.id = participant_id
        self.role = role
        self.display_name = display_name
        self.location = location
        self._muted: dict[TrackLabel, bool] = {}
        self._announced = False
        self.closed = False
        self._publish = PublishConnection(
            participant_id, config, lambda state: self._state("publish", state)
        )
        self._subscribe = SubscribeConnection(
            participant_id, config, lambda state: self._state("subscribe", state)
        )

    def __repr__(self) -> str:
        return f"Participant({self.id!r}, role={self.role!r}, location={self.location!r})"

    # -- negotiation -----------------------------------------------------------------------

    async def publish_answer(
        self, offer_sdp: str, labels: Mapping[str, TrackLabel] | None = None
    ) -> str:
        """Answer the browser's publish offer (first or re-offer, e.g. screen share).

        ``labels`` maps mids to ``microphone``/``camera``/``screen``; by default the audio
        m-line is the microphone, the first video the camera and a second one the screen.
        Raises :class:`~signaling.media.errors.SdpError` for a malformed or refused offer.
        """
        self._check_open()
        answer, added, removed = await self._publish.answer(offer_sdp, labels)
        for track in added:
            track.set_muted(self._muted.get(track.info.label, False))
        self.room._tracks_changed(self, added, removed)
        return answer

    async def subscribe_offer(self) -> SubscribeOffer | None:
        """The server's (re-)offer for the subscribe connection, ``None`` if nothing to send.

        Raises :class:`~signaling.media.errors.NegotiationError` while a previous offer
        waits for its answer.
        """
        self._check_open()
        self._announced = False
        return await self._subscribe.offer()

    async def subscribe_answer(self, answer_sdp: str) -> None:
        """Apply the browser's answer to :meth:`subscribe_offer`."""
        self._check_open()
        await self._subscribe.answer(answer_sdp)
        if self._subscribe.needs_offer:
            self.room._announce(self)

    # -- state -----------------------------------------------------------------------------

    @property
    def published_tracks(self) -> list[PublishedTrack]:
        """Tracks this participant publishes."""
        return self._publish.tracks

    @property
    def tracks(self) -> list[TrackInfo]:
        """What this participant publishes, as plain data."""
        return [t.info for t in self._publish.tracks]

    @property
    def receiving(self) -> list[TrackInfo]:
        """Tracks this participant is meant to receive (announced or about to be)."""
        return [t.info for t in self._subscribe.tracks()]

    @property
    def publish_state(self) -> str:
        """State of the publish connection."""
        return self._publish.state

    @property
    def subscribe_state(self) -> str:
        """State of the subscribe connection."""
        return self._subscribe.state

    def is_muted(self, label: TrackLabel) -> bool:
        """Whether the server holds back this participant's track."""
        return self._muted.get(label, False)

    def set_muted(self, label: TrackLabel, muted: bool) -> None:
        """Stop or resume forwarding a track; applies to a track published later too.

        The signalling layer decides who may unmute (a party unmutes only themself).
        """
        self._muted[label] = muted
        for track in self._publish.tracks:
            if track.info.label == label:
                track.set_muted(muted)

    def stats(self) -> ParticipantStats:
        """Counters of both connections for the quality mark."""
        return ParticipantStats(
            participant_id=self.id,
            publish_state=self._publish.state,
            subscribe_state=self._subscribe.state,
            published=tuple(t.stats() for t in self._publish.tracks),
            subscribed=tuple(s.stats() for s in self._subscribe.slots),
        )

    # -- used by the room ----------------------------------------------------------------

    def _state(self, connection: ConnectionName, state: str) -> None:
        if not self.closed:
            self.room._connection_state(self, connection, state)

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError(f"participant {self.id} has left")

    def _tick(self) -> None:
        self._publish.send_reports()
        self._subscribe.refresh_sender_reports()

    def _stop_media(self) -> list[PublishedTrack]:
        """Stop every packet to and from this participant, synchronously."""
        if not self.closed:
            self.room.retired.add(self.stats())
        self.closed = True
        self._subscribe.detach_all()
        tracks = self._publish.tracks
        for track in tracks:
            track.close()
        return tracks

    async def _close(self) -> None:
        await asyncio.gather(self._publish.close(), self._subscribe.close())

    def _reconcile(self, desired: list[PublishedTrack]) -> bool:
        return self._subscribe.reconcile(desired)

    @property
    def _can_offer(self) -> bool:
        return self._subscribe.pc.signalingState == "stable" and self._subscribe.needs_offer
