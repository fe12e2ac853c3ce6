"""Events every participant may send, always about their own seat."""

from __future__ import annotations

import time
from typing import Any

from recording.vocabulary import RecordingEventKind
from server.appkeys import SETTINGS
from signaling.media import ClosedError, NegotiationError, Participant, SdpError, TrackLabel

from . import cluster, errors, recording
from .events import Chat, Hand, Hello, Leave, MediaState, Publish, Speaking, SubscribeAnswer
from .records import chat_history, chat_out, store_chat
from .service import MEDIA_LABELS, NAMESPACE, Connection, LiveService
from .state import WAITING, LiveHearing, Seat
from .turn import ice_servers_for


def register(service: LiveService) -> None:
    """Install the handlers of participants' own events."""
    service.handle("hello")(hello)
    service.handle("publish")(publish)
    service.handle("subscribe_answer")(subscribe_answer)
    service.handle("media_state")(media_state)
    service.handle("hand")(hand)
    service.handle("speaking")(speaking)
    service.handle("chat")(chat)
    service.handle("leave")(leave)


async def hello(service: LiveService, conn: Connection, _: Hello) -> dict[str, Any]:
    """Take the seat (replacing an older connection of it) and enter where it belongs."""
    async with service.sessionmaker() as db:
        live = await service.open_hearing(db, conn.hearing_id)
        seat = live.seats.get(conn.participant_id)
        if seat is None:
            raise errors.UnknownParticipant()
        history = [] if seat.location == WAITING else await chat_history(db, live, seat.location)
    async with live.lock:
        if conn.closing:
            raise errors.Gone()
        if seat.sid != conn.sid:
            previous = seat.sid
            seat.sid = conn.sid
            live.empty_since = None
            if previous is not None:
                service.kick(previous, "replaced")
            else:
                service.note(live, RecordingEventKind.JOIN, seat, seat.location)
            await _enter_media(service, live, seat)
        conn.greeted = True
    await service.sio.enter_room(conn.sid, cluster.seat_room(seat.id), namespace=NAMESPACE)
    settings = service.app[SETTINGS]
    result = {
        "you": live.me(seat),
        "state": service.state_for(live, seat, conn),
        "ice_servers": ice_servers_for(settings, seat.id, time.time()),
        "chat": history,
    }
    await service.push_states(live)
    service.spawn(recording.send_state(service, conn, live.id), "recording")
    return result


async def _enter_media(service: LiveService, live: LiveHearing, seat: Seat) -> None:
    room = service.media_room(live)
    if service.media_participant(live, seat) is not None:
        # The same seat from a new page: fresh connections, same room, same mute flags.
        await room.rejoin(str(seat.id))
        return
    participant = room.join(
        str(seat.id), str(seat.role), seat.name, service.media_location(seat.location)
    )
    _apply_mutes(participant, seat)


def _apply_mutes(participant: Participant, seat: Seat) -> None:
    participant.set_muted("microphone", not seat.audio)
    participant.set_muted("camera", not seat.video)


def _own_participant(service: LiveService, conn: Connection) -> Participant:
    live = service.hearing_of(conn)
    seat = service.seat_of(conn)
    if seat.sid != conn.sid:
        raise errors.OutOfTurn()
    participant = service.media_participant(live, seat)
    if participant is None:
        raise errors.OutOfTurn()
    return participant


async def publish(service: LiveService, conn: Connection, event: Publish) -> dict[str, Any]:
    """Answer the browser's publish offer."""
    participant = _own_participant(service, conn)
    labels: dict[str, TrackLabel] | None = None
    if event.labels is not None:
        labels = {mid: MEDIA_LABELS[label] for mid, label in event.labels.items()}  # type: ignore[misc]
    try:
        answer = await participant.publish_answer(event.sdp, labels)
    except SdpError:
        raise errors.BadSdp() from None
    except (NegotiationError, ClosedError):
        raise errors.OutOfTurn() from None
    return {"sdp": answer}


async def subscribe_answer(
    service: LiveService, conn: Connection, event: SubscribeAnswer
) -> dict[str, Any]:
    """Apply the browser's answer to the last subscribe offer."""
    participant = _own_participant(service, conn)
    try:
        await participant.subscribe_answer(event.sdp)
    except SdpError:
        raise errors.BadSdp() from None
    except (NegotiationError, ClosedError):
        raise errors.OutOfTurn() from None
    return {}


async def media_state(service: LiveService, conn: Connection, event: MediaState) -> dict[str, Any]:
    """Own microphone/camera/screen state; what is off is also held back by the server."""
    live = service.hearing_of(conn)
    seat = service.seat_of(conn)
    seat.audio, seat.video, seat.screen = event.audio, event.video, event.screen
    participant = service.media_participant(live, seat)
    if participant is not None:
        _apply_mutes(participant, seat)
    await service.push_states(live)
    return {}


async def hand(service: LiveService, conn: Connection, event: Hand) -> dict[str, Any]:
    """Raise or lower one's hand."""
    live = service.hearing_of(conn)
    service.seat_of(conn).hand = event.raised
    await service.push_states(live)
    return {}


async def speaking(service: LiveService, conn: Connection, event: Speaking) -> dict[str, Any]:
    """Own voice activity, for the active-speaker highlight."""
    live = service.hearing_of(conn)
    service.seat_of(conn).speaking = event.active
    await service.push_states(live)
    return {}


async def chat(service: LiveService, conn: Connection, event: Chat) -> dict[str, Any]:
    """A message to everyone in the sender's room, kept on the case."""
    live = service.hearing_of(conn)
    seat = service.seat_of(conn)
    location = seat.location
    if location == WAITING:
        raise errors.Waiting()
    async with service.sessionmaker() as db:
        row = await store_chat(db, live.id, seat.id, location, event.text)
        await db.commit()
        message = chat_out(row, seat.name)
    for other in live.connected():
        if other.location == location and other.sid is not None:
            await service.emit("chat", message, other.sid)
    return {"message": message}


async def leave(service: LiveService, conn: Connection, _: Leave) -> dict[str, Any]:
    """Leave: media stops now; a party who comes back waits to be admitted again."""
    live = service.hearing_of(conn)
    async with live.lock:
        seat = service.seat_of(conn)
        if seat.sid == conn.sid:
            await service.release_seat(live, seat)
            seat.location = seat.entry_location
        conn.closing = True
    await service.push_states(live)

    async def disconnect() -> None:
        await service.sio.disconnect(conn.sid, namespace="/live")

    service.spawn(disconnect(), "leave")
    return {}
