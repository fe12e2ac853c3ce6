"""The live service on several workers: refusing connections that belong to another worker,
rebuilding a hearing's room from its saved state, saving that state on every change, and
taking over the recording of a hearing whose worker died.

With the embedded default (one process) the placement is local: every connection belongs
here, nothing is saved and nothing is ever taken over.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, NoReturn

import socketio
from sqlalchemy import select

from recording.recovery import recover_session
from recording.vocabulary import RecordingEventKind, RecordingStatus
from server.appkeys import PLACEMENT, SETTINGS
from server.db.recording import RecordingSession
from server.i18n import Translator
from signaling.cluster.placement import ClusterPlacement, Placement
from signaling.cluster.registry import NoWorkerAvailable
from signaling.cluster.state import HearingSnapshot

from .state import MAIN, WAITING, LiveHearing

if TYPE_CHECKING:
    from .service import LiveService

logger = logging.getLogger(__name__)


def placement(service: LiveService) -> Placement | None:
    """The app's placement (absent in apps built without one, e.g. some tests)."""
    return service.app.get(PLACEMENT)


def _refuse(t: Translator, key: str, **extra: str) -> NoReturn:
    message = t(key)
    raise socketio.exceptions.ConnectionRefusedError(
        message, {"code": key, "message": message, **extra}
    )


async def check_here(service: LiveService, hearing_id: int, t: Translator) -> None:
    """Refuse a connection whose hearing lives on another worker (the page asks
    ``/api/live/worker`` again and goes there)."""
    where = placement(service)
    if where is None:
        return
    try:
        claim = await where.claim(hearing_id, here=True)
    except NoWorkerAvailable:
        _refuse(t, "error.live_media_full")
    if claim.worker_id != where.worker_id:
        _refuse(
            t,
            "error.live_wrong_worker",
            worker=claim.worker_id,
            socket_path=where.socket_path(claim.worker_id),
        )


def shared(service: LiveService) -> bool:
    """Whether hearings are spread over several workers (Redis placement)."""
    return isinstance(placement(service), ClusterPlacement)


def seat_room(participant_id: int) -> str:
    """The socket.io room of one seat's connection (reachable from any worker via Redis)."""
    return f"seat-{participant_id}"


def snapshot_of(live: LiveHearing) -> HearingSnapshot:
    """Where everyone is and which caucus rooms are open."""
    return HearingSnapshot(
        locations={seat.id: seat.location for seat in live.seats.values()},
        caucus_rooms=dict(live.caucus_rooms),
        next_caucus=live.next_caucus,
    )


async def restore(service: LiveService, live: LiveHearing) -> None:
    """Put a hearing loaded here back as it was on its previous worker."""
    where = placement(service)
    if where is None:
        return
    try:
        saved = await where.state.load(live.id)
    except Exception:
        logger.exception("reading the saved state of hearing %s failed", live.id)
        return
    if saved is None:
        return
    live.caucus_rooms = dict(saved.caucus_rooms)
    live.next_caucus = max(live.next_caucus, saved.next_caucus)
    valid = {WAITING, MAIN, *live.caucus_rooms}
    for seat_id, location in saved.locations.items():
        seat = live.seats.get(seat_id)
        if seat is not None and location in valid:
            seat.location = location
    service.saved_state[live.id] = saved.to_json()


async def save(service: LiveService, live: LiveHearing) -> None:
    """Save the hearing's state if it changed since the last save (never raises)."""
    where = placement(service)
    if where is None:
        return
    snapshot = snapshot_of(live)
    text = snapshot.to_json()
    if service.saved_state.get(live.id) == text:
        return
    try:
        await where.state.save(live.id, snapshot)
        service.saved_state[live.id] = text
    except Exception:
        logger.exception("saving the state of hearing %s failed", live.id)


async def release(service: LiveService, hearing_id: int) -> None:
    """This worker forgot the hearing: it no longer holds its room."""
    service.saved_state.pop(hearing_id, None)
    where = placement(service)
    if where is not None:
        try:
            await where.release(hearing_id)
        except Exception:
            logger.exception("releasing hearing %s failed", hearing_id)


async def take_over_recording(service: LiveService, live: LiveHearing) -> None:
    """Close what the dead worker left recording (its open segments as found, a gap on its
    timeline, sealed) and, if it was recording, go on recording here in a new session whose
    timeline says which session it continues."""
    recordings = service.recording
    if recordings is None:
        return
    me = service.app[SETTINGS].worker_id
    async with service.sessionmaker() as db:
        orphans = list(
            await db.scalars(
                select(RecordingSession).where(
                    RecordingSession.hearing_id == live.id,
                    RecordingSession.status.in_(
                        [RecordingStatus.RECORDING, RecordingStatus.PAUSED]
                    ),
                    RecordingSession.worker != me,
                )
            )
        )
    if not orphans:
        return
    was_recording = [s.id for s in orphans if s.status == RecordingStatus.RECORDING]
    for session in orphans:
        async with service.sessionmaker() as db:
            await recover_session(db, session.id, recordings.spool)
            await db.commit()
        if recordings.seal is not None:
            try:
                async with service.sessionmaker() as db:
                    await recordings.seal(db, recordings.settings, session.id)
                    await db.commit()
            except Exception:
                logger.exception("sealing session %s after a takeover failed", session.id)
    if not was_recording:
        return
    from . import recording

    state = await recording.begin(service, live, None)
    recordings.note(
        live.id,
        RecordingEventKind.RESUME,
        None,
        None,
        {"continues_session": was_recording[-1], "reason": "worker_lost"},
    )
    await recording.broadcast(service, live, state)
    logger.warning(
        "hearing %s: recording resumed in session %s after session %s lost its worker",
        live.id,
        state.session_id,
        json.dumps(was_recording),
    )
