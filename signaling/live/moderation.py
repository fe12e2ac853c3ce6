"""Moderator events: admit, send back, remove, ask to mute, caucus rooms, moves, identity.

:meth:`LiveService.on_event` lets these through only from a moderator's own connection;
``participant_id`` here always names the target, never the sender.
"""

from __future__ import annotations

from typing import Any

from recording.vocabulary import RecordingEventKind
from server.errors import BilinError
from server.hearings import identity
from server.hearings.vocabulary import IdentityMethod
from server.schemas.hearings import IdentityCheckRequest
from signaling.media import MediaError

from . import errors, recording
from .events import (
    Admit,
    CloseCaucus,
    ConfirmIdentity,
    Move,
    Mute,
    OpenCaucus,
    Remove,
    SendToWaiting,
)
from .records import refresh_seats
from .service import Connection, LiveService
from .state import MAIN, WAITING, LiveHearing, Seat

MAX_CAUCUS_ROOMS = 12


def register(service: LiveService) -> None:
    """Install the handlers of moderator events."""
    service.handle("admit")(admit)
    service.handle("send_to_waiting")(send_to_waiting)
    service.handle("remove")(remove)
    service.handle("mute")(mute)
    service.handle("open_caucus")(open_caucus)
    service.handle("close_caucus")(close_caucus)
    service.handle("move")(move)
    service.handle("confirm_identity")(confirm_identity)


def _target(live: LiveHearing, participant_id: int, *, connected: bool = False) -> Seat:
    seat = live.seats.get(participant_id)
    if seat is None or (connected and not seat.connected):
        raise errors.UnknownParticipant()
    return seat


async def _relocate(service: LiveService, live: LiveHearing, seat: Seat, location: str) -> bool:
    """Move a seat (under ``live.lock``); tells the person. Whether anything changed."""
    if seat.location == location:
        return False
    service.place(live, seat, location)
    if seat.sid is not None:
        await service.emit("moved", {"room": location}, seat.sid)
    return True


async def admit(service: LiveService, conn: Connection, event: Admit) -> dict[str, Any]:
    """Let one person or everyone waiting into the main room."""
    live = service.hearing_of(conn)
    async with live.lock:
        if event.participant_id is not None:
            targets = [_target(live, event.participant_id, connected=True)]
        else:
            targets = [s for s in live.connected() if s.location == WAITING]
        admitted = []
        for seat in targets:
            if seat.location == WAITING and await _relocate(service, live, seat, MAIN):
                admitted.append(seat.id)
    await service.push_states(live)
    if admitted:
        await recording.autostart(service, live, conn.participant_id)
    return {"admitted": admitted}


async def send_to_waiting(
    service: LiveService, conn: Connection, event: SendToWaiting
) -> dict[str, Any]:
    """Send someone back to the waiting room: their media stops at once."""
    live = service.hearing_of(conn)
    async with live.lock:
        await _relocate(service, live, _target(live, event.participant_id), WAITING)
    await service.push_states(live)
    return {}


async def remove(service: LiveService, conn: Connection, event: Remove) -> dict[str, Any]:
    """Remove someone: ``removed``, disconnected, media stops; back in the waiting room if
    they come again with their (still valid) link."""
    live = service.hearing_of(conn)
    if event.participant_id == conn.participant_id:
        raise errors.InvalidTarget()
    async with live.lock:
        seat = _target(live, event.participant_id)
        await service.evict(live, seat, "removed")
    await service.push_states(live)
    return {}


async def mute(service: LiveService, conn: Connection, event: Mute) -> dict[str, Any]:
    """Ask one person or everyone to mute; nobody is muted or unmuted remotely."""
    live = service.hearing_of(conn)
    me = service.seat_of(conn)
    if event.participant_id is None:
        targets = [s for s in live.connected() if s.id != me.id]
    else:
        targets = [_target(live, event.participant_id, connected=True)]
    asked = []
    for seat in targets:
        if seat.sid is not None:
            await service.emit("mute_requested", {"kind": event.kind, "by": me.name}, seat.sid)
            asked.append(seat.id)
    return {"asked": asked}


async def open_caucus(service: LiveService, conn: Connection, event: OpenCaucus) -> dict[str, Any]:
    """Open a caucus room (背对背)."""
    live = service.hearing_of(conn)
    async with live.lock:
        if len(live.caucus_rooms) >= MAX_CAUCUS_ROOMS:
            raise errors.TooManyRooms(limit=MAX_CAUCUS_ROOMS)
        room = live.open_caucus(event.label.strip() or event.label)
        media_room = service.media_room(live)
        media_room.open_sub_room(room)
        if service.recording is not None:
            service.recording.room_opened(live.id, media_room, room)
    await service.push_states(live)
    return {"room": room}


async def close_caucus(
    service: LiveService, conn: Connection, event: CloseCaucus
) -> dict[str, Any]:
    """Close a caucus room; whoever is in it goes back to the main room."""
    live = service.hearing_of(conn)
    async with live.lock:
        if event.room not in live.caucus_rooms:
            raise errors.UnknownRoom()
        occupants = [s for s in live.seats.values() if s.location == event.room]
        for seat in occupants:
            await _relocate(service, live, seat, MAIN)
        del live.caucus_rooms[event.room]
        room = service.media_room(live)
        if event.room in room.sub_rooms:
            room.close_sub_room(event.room)
        if service.recording is not None:
            service.recording.room_closed(live.id, event.room)
    await service.push_states(live)
    return {}


async def move(service: LiveService, conn: Connection, event: Move) -> dict[str, Any]:
    """Move anyone, the moderator included, between the rooms and the waiting room."""
    live = service.hearing_of(conn)
    async with live.lock:
        if event.room not in live.locations():
            raise errors.UnknownRoom()
        try:
            await _relocate(service, live, _target(live, event.participant_id), event.room)
        except MediaError:
            raise errors.UnknownRoom() from None
    await service.push_states(live)
    return {}


async def confirm_identity(
    service: LiveService, conn: Connection, event: ConfirmIdentity
) -> dict[str, Any]:
    """Record the on-camera check of a declared identity on the case (identity service)."""
    live = service.hearing_of(conn)
    _target(live, event.participant_id)
    method = (
        IdentityMethod.ID_DOCUMENT_ON_CAMERA
        if event.method == "video"
        else IdentityMethod(event.method)
    )
    request = IdentityCheckRequest(method=method, outcome=event.outcome, note=event.note)
    async with service.sessionmaker() as db:
        try:
            await identity.check(db, conn.principal, live.id, event.participant_id, request)
        except BilinError as exc:
            raise errors.LiveError(exc.key, **exc.params) from None
        await db.commit()
        await refresh_seats(db, live)
    service.note(
        live,
        RecordingEventKind.IDENTITY_CHECK,
        live.seats.get(event.participant_id),
        detail={"method": str(method), "outcome": str(event.outcome)},
    )
    await service.push_states(live)
    return {}
