"""Recording in a live hearing: the moderator's start/pause/resume/stop, the ``recording``
event everyone gets, autostart, and the timeline hooks the other handlers call.

The recorder itself (:mod:`recording.service`) joins the media room as a system participant;
this module only decides when and tells people.
"""

from __future__ import annotations

import logging
from typing import Any

from recording.service import DiskLow, RecordingService, RecordingState
from recording.vocabulary import RecordingEventKind
from server.appkeys import RECORDING

from . import errors
from .events import RecordingPause, RecordingResume, RecordingStart, RecordingStop
from .service import Connection, LiveService
from .state import LiveHearing

logger = logging.getLogger(__name__)


def register(service: LiveService) -> None:
    """Install the recording handlers; tell everyone when a recording stops on its own."""
    service.handle("recording_start")(start)
    service.handle("recording_pause")(pause)
    service.handle("recording_resume")(resume)
    service.handle("recording_stop")(stop)

    async def changed(hearing_id: int, state: RecordingState) -> None:
        live = service.hearings.get(hearing_id)
        if live is not None:
            await broadcast(service, live, state)

    recordings(service).listeners.append(changed)


def recordings(service: LiveService) -> RecordingService:
    """The app's recording service."""
    return service.app[RECORDING]


async def broadcast(service: LiveService, live: LiveHearing, state: RecordingState) -> None:
    """Send everyone in the hearing the ``recording`` event."""
    payload = state.event()
    for seat in live.connected():
        conn = service.connections.get(seat.sid or "")
        if conn is not None and conn.greeted and not conn.closing:
            await service.emit("recording", _for(conn, payload), conn.sid)


def _for(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with a translated explanation when the recording stopped on its own."""
    reason = payload.get("reason")
    if reason:
        return {**payload, "message": conn.t(f"recording.stopped_{reason}")}
    return payload


async def send_state(service: LiveService, conn: Connection, hearing_id: int) -> None:
    """Tell one connection (after its ``hello``) whether the hearing is being recorded."""
    state = recordings(service).state(hearing_id)
    await service.emit("recording", _for(conn, state.event()), conn.sid)


async def begin(service: LiveService, live: LiveHearing, started_by: int | None) -> RecordingState:
    """Start recording the hearing (refusals as live errors)."""
    fresh = recordings(service).recorder(live.id) is None
    try:
        state = await recordings(service).begin(
            live.id, live.case_id, service.media_room(live), started_by
        )
    except DiskLow as low:
        raise errors.RecordingDiskLow(
            free_mb=low.space.free_mb, min_free_mb=low.space.min_free_mb
        ) from None
    except ImportError:
        logger.exception("no track recorder")
        raise errors.RecordingUnavailable() from None
    # Who is there when recording starts (later joins, leaves and moves follow as they come).
    for seat in live.connected() if fresh else []:
        note(service, live, RecordingEventKind.JOIN, seat.id, seat.location, {"at_start": True})
    await broadcast(service, live, state)
    return state


async def start(service: LiveService, conn: Connection, _: RecordingStart) -> dict[str, Any]:
    """Start recording (idempotent: an active recording stays as it is)."""
    live = service.hearing_of(conn)
    state = await begin(service, live, conn.participant_id)
    return {"recording": state.event()}


async def pause(service: LiveService, conn: Connection, _: RecordingPause) -> dict[str, Any]:
    """Pause the recording."""
    live = service.hearing_of(conn)
    if recordings(service).recorder(live.id) is None:
        raise errors.NotRecording()
    state = await recordings(service).pause(live.id)
    await broadcast(service, live, state)
    return {"recording": state.event()}


async def resume(service: LiveService, conn: Connection, _: RecordingResume) -> dict[str, Any]:
    """Resume a paused recording."""
    live = service.hearing_of(conn)
    if recordings(service).recorder(live.id) is None:
        raise errors.NotRecording()
    try:
        state = await recordings(service).resume(live.id)
    except DiskLow as low:
        raise errors.RecordingDiskLow(
            free_mb=low.space.free_mb, min_free_mb=low.space.min_free_mb
        ) from None
    await broadcast(service, live, state)
    return {"recording": state.event()}


async def stop(service: LiveService, conn: Connection, _: RecordingStop) -> dict[str, Any]:
    """Stop recording; the session is sealed."""
    live = service.hearing_of(conn)
    if recordings(service).recorder(live.id) is None:
        raise errors.NotRecording()
    state = await recordings(service).finish(live.id)
    await broadcast(service, live, state)
    return {"recording": state.event()}


async def autostart(service: LiveService, live: LiveHearing, by: int) -> None:
    """Centre policy (``BILIN_RECORDING_AUTOSTART``): record from the first admission."""
    if not recordings(service).autostart:
        return
    if recordings(service).recorder(live.id) is not None:
        return
    try:
        await begin(service, live, by)
    except errors.LiveError as exc:
        # The moderators see why it did not start.
        for seat in live.connected():
            conn = service.connections.get(seat.sid or "")
            if seat.moderator and conn is not None:
                await service.emit(
                    "recording",
                    {
                        **recordings(service).state(live.id).event(),
                        "message": conn.t(exc.key, **exc.params),
                    },
                    conn.sid,
                )


def note(
    service: LiveService,
    live: LiveHearing,
    kind: RecordingEventKind,
    participant_id: int | None = None,
    sub_room: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """A timeline entry when the hearing is being recorded (a no-op otherwise)."""
    service.app[RECORDING].note(live.id, kind, participant_id, sub_room, detail)
