"""A room: one session's participants, its main room and caucus rooms.

Routing is decided here and only here: a participant receives the tracks of the others
in the same sub-room, and nothing in the waiting room. Every change (join, move, a track
published or unpublished, removal) runs :meth:`Room._reconcile`, which stops unwanted
forwarding at once and asks for renegotiation where a participant's m-lines change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .config import MediaConfig
from .errors import ClosedError, DuplicateParticipant, UnknownParticipant, UnknownSubRoom
from .events import ConnectionName, MediaEvents
from .model import MAIN_ROOM, MediaTotals
from .participant import Participant
from .sink import MediaSink, SinkHandle
from .track import PublishedTrack

logger = logging.getLogger(__name__)


class Room:
    """The media side of one session (created by :meth:`MediaWorker.room`)."""

    def __init__(
        self,
        room_id: str,
        config: MediaConfig,
        events: MediaEvents,
        on_closed: Callable[[Room], None],
        retired: MediaTotals | None = None,
    ) -> None:
        self.id = room_id
        # Where a leaving participant's counters go (the worker's totals).
        self.retired = retired if retired is not None else MediaTotals()
        self._config = config
        self._events = events
        self._on_closed = on_closed
        self._participants: dict[str, Participant] = {}
        self._sub_rooms: list[str] = [MAIN_ROOM]
        self._sinks: list[SinkHandle] = []
        self.closed = False

    def __repr__(self) -> str:
        return f"Room({self.id!r}, participants={len(self._participants)})"

    # -- membership ------------------------------------------------------------------------

    @property
    def participants(self) -> list[Participant]:
        """Everyone in the room, in joining order."""
        return list(self._participants.values())

    @property
    def sub_rooms(self) -> list[str]:
        """Open sub-rooms: the main room first, then caucus rooms."""
        return list(self._sub_rooms)

    def participant(self, participant_id: str) -> Participant:
        """A participant by id; :class:`UnknownParticipant` if absent."""
        try:
            return self._participants[participant_id]
        except KeyError:
            raise UnknownParticipant(participant_id) from None

    def join(
        self,
        participant_id: str,
        role: str,
        display_name: str,
        location: str | None = None,
    ) -> Participant:
        """Add a participant, by default in the waiting room (``location=None``).

        Creates both peer connections, so it must run inside the worker's event loop.
        """
        self._check_open()
        if participant_id in self._participants:
            raise DuplicateParticipant(participant_id)
        self._check_location(location)
        participant = Participant(self, participant_id, role, display_name, location, self._config)
        self._participants[participant_id] = participant
        self._reconcile()
        return participant

    async def rejoin(self, participant_id: str) -> Participant:
        """Replace a participant's connections (page reload, network change).

        The new participant keeps id, role, name, sub-room and mute flags; the browser then
        publishes and subscribes again on new connections.
        """
        old = self.participant(participant_id)
        muted = dict(old._muted)
        await self.remove(participant_id)
        new = self.join(participant_id, old.role, old.display_name, old.location)
        new._muted.update(muted)
        return new

    def open_sub_room(self, sub_room: str) -> None:
        """Open a caucus room (idempotent)."""
        self._check_open()
        if not sub_room:
            raise UnknownSubRoom("a sub-room needs an id")
        if sub_room not in self._sub_rooms:
            self._sub_rooms.append(sub_room)

    def close_sub_room(self, sub_room: str) -> None:
        """Close a caucus room; whoever is in it goes back to the main room."""
        if sub_room == MAIN_ROOM:
            raise UnknownSubRoom("the main room cannot be closed")
        if sub_room not in self._sub_rooms:
            raise UnknownSubRoom(sub_room)
        for participant in self._participants.values():
            if participant.location == sub_room:
                participant.location = MAIN_ROOM
        for handle in [h for h in self._sinks if h.sub_room == sub_room]:
            self.detach_sink(handle)
        self._sub_rooms.remove(sub_room)
        self._reconcile()

    def move(self, participant_id: str, location: str | None) -> None:
        """Move someone to a sub-room, or to the waiting room with ``None``.

        Media from the old sub-room stops before this returns; the new sub-room's media
        flows once the renegotiations announced by ``renegotiation_needed`` complete.
        """
        self._check_open()
        participant = self.participant(participant_id)
        self._check_location(location)
        if participant.location != location:
            participant.location = location
            self._reconcile()

    def admit(self, participant_id: str) -> None:
        """Let someone in from the waiting room, into the main room."""
        self.move(participant_id, MAIN_ROOM)

    async def remove(self, participant_id: str) -> None:
        """Remove a participant: media stops at once and both connections close."""
        participant = self._participants.pop(participant_id, None)
        if participant is None:
            raise UnknownParticipant(participant_id)
        tracks = participant._stop_media()
        for track in tracks:
            self._emit(self._events.track_unpublished, self.id, track.info)
        self._reconcile()
        await participant._close()

    # -- sinks -----------------------------------------------------------------------------

    def attach_sink(self, sub_room: str, sink: MediaSink) -> SinkHandle:
        """Attach an in-process subscriber (a recorder) to every track of a sub-room."""
        self._check_open()
        self._check_location(sub_room)
        handle = SinkHandle(self, sub_room, sink)
        self._sinks.append(handle)
        handle.reconcile(self._tracks_in(sub_room))
        return handle

    def detach_sink(self, handle: SinkHandle) -> None:
        """Stop a sink (also what :meth:`SinkHandle.detach` calls)."""
        if handle in self._sinks:
            self._sinks.remove(handle)
            handle.release()

    # -- life cycle ----------------------------------------------------------------------

    async def close(self) -> None:
        """Remove everyone and every sink; the worker forgets the room."""
        if self.closed:
            return
        self.closed = True
        for handle in list(self._sinks):
            self.detach_sink(handle)
        participants = list(self._participants.values())
        self._participants.clear()
        for participant in participants:
            participant._stop_media()
        results = await asyncio.gather(*(p._close() for p in participants), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                logger.error("closing a participant failed", exc_info=result)
        self._on_closed(self)

    def tick(self) -> None:
        """Periodic reports (receiver reports, REMB, sender-report counters)."""
        for participant in list(self._participants.values()):
            try:
                participant._tick()
            except Exception:
                logger.exception("media report for %s failed", participant.id)

    # -- routing ---------------------------------------------------------------------------

    def _tracks_in(self, location: str, exclude: Participant | None = None) -> list[PublishedTrack]:
        return [
            track
            for p in self._participants.values()
            if p.location == location and p is not exclude
            for track in p.published_tracks
        ]

    def _reconcile(self) -> None:
        for participant in self._participants.values():
            desired = (
                []
                if participant.location is None
                else self._tracks_in(participant.location, exclude=participant)
            )
            if participant._reconcile(desired):
                self._announce(participant)
        for handle in self._sinks:
            handle.reconcile(self._tracks_in(handle.sub_room))

    def _tracks_changed(
        self, participant: Participant, added: list[PublishedTrack], removed: list[PublishedTrack]
    ) -> None:
        for track in removed:
            self._emit(self._events.track_unpublished, self.id, track.info)
        for track in added:
            self._emit(self._events.track_published, self.id, track.info)
        if added or removed:
            self._reconcile()

    def _announce(self, participant: Participant) -> None:
        if participant._can_offer and not participant._announced:
            participant._announced = True
            self._emit(self._events.renegotiation_needed, self.id, participant.id)

    def _connection_state(
        self, participant: Participant, connection: ConnectionName, state: str
    ) -> None:
        self._emit(self._events.connection_state, self.id, participant.id, connection, state)

    def _emit(self, callback: Callable[..., None], *args: object) -> None:
        try:
            callback(*args)
        except Exception:
            logger.exception("media event handler %s failed", getattr(callback, "__name__", ""))

    def _check_location(self, location: str | None) -> None:
        if location is not None and location not in self._sub_rooms:
            raise UnknownSubRoom(location)

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError(f"room {self.id} is closed")
