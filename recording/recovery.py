"""Crash recovery, run when the app starts: what a killed process left open is closed as found.

For every session this worker left RECORDING or PAUSED: it becomes INTERRUPTED; each OPEN
segment is hashed as found on disk (RECOVERED, with the end of its last readable packet) or,
when nothing readable is left, marked MISSING; both join the hash chain; a GAP entry on the
timeline runs from the last written millisecond to now (``reason: process_ended``); then the
session is sealed. A hearing still live after the restart records into a new session when the
mediator starts again: the interrupted session's manifest shows the gap.

Which sessions are this worker's: ``worker`` equal to ours (a configured ``BILIN_WORKER_ID``),
or, for the default ``host:pid`` ids, the same host and a process id no longer running.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.recorder import link_segment, lock_chain
from recording.session_log import SessionClock, timeline_entry
from recording.storage import LocalStore, MissingObject
from recording.vocabulary import RecordingEventKind, RecordingStatus, SegmentStatus
from server.db.base import utcnow
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from server.settings import Settings

logger = logging.getLogger(__name__)

SealFunction = Callable[[AsyncSession, Settings, int], Awaitable[object]]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def left_by_us(worker: str, me: str) -> bool:
    """Whether a session recorded by ``worker`` is ours to recover (see the module doc)."""
    if worker == me:
        return True
    host, _, pid = worker.rpartition(":")
    my_host, _, my_pid = me.rpartition(":")
    if not host or host != my_host or not pid.isdigit() or not my_pid.isdigit():
        return False
    return int(pid) != os.getpid() and not _pid_alive(int(pid))


def last_written_ms(path: str) -> int | None:
    """End of the last packet readable in a segment file (session-clock ms), or ``None``."""
    import av  # local: PyAV is only needed here and by the recorder

    end: int | None = None
    try:
        with av.open(path) as container:
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                stop = packet.pts + (packet.duration or 0)
                ms = int(stop * packet.time_base * 1000)
                end = ms if end is None else max(end, ms)
    except Exception:  # a cut-off file: keep what was read before the cut
        logger.info("segment %s ends in an unreadable part", path)
    return end


async def recover(
    sessionmaker: Callable[[], AsyncSession],
    settings: Settings,
    spool: LocalStore,
    seal: SealFunction | None,
) -> list[int]:
    """Recover this worker's interrupted sessions; their ids."""
    async with sessionmaker() as db:
        candidates = (
            await db.execute(
                select(RecordingSession.id, RecordingSession.worker).where(
                    RecordingSession.status.in_([RecordingStatus.RECORDING, RecordingStatus.PAUSED])
                )
            )
        ).all()
    ours = [sid for sid, worker in candidates if left_by_us(worker, settings.worker_id)]
    for session_id in ours:
        async with sessionmaker() as db:
            await recover_session(db, session_id, spool)
            await db.commit()
        if seal is not None:
            try:
                async with sessionmaker() as db:
                    await seal(db, settings, session_id)
                    await db.commit()
            except Exception:
                logger.exception("sealing recovered session %s failed", session_id)
        logger.warning("recording session %s was interrupted; recovered", session_id)
    return ours


async def recover_session(db: AsyncSession, session_id: int, spool: LocalStore) -> None:
    """Close one interrupted session as found (the caller commits)."""
    session = await lock_chain(db, session_id)
    clock = SessionClock(session.started_at)
    now = utcnow()
    open_segments = (
        await db.scalars(
            select(RecordingSegment)
            .where(
                RecordingSegment.session_id == session_id,
                RecordingSegment.status == SegmentStatus.OPEN,
            )
            .order_by(RecordingSegment.start_ms, RecordingSegment.track_id, RecordingSegment.index)
        )
    ).all()
    last_ms = await db.scalar(
        select(func.max(RecordingSegment.end_ms)).where(RecordingSegment.session_id == session_id)
    )
    last = int(last_ms or 0)
    for segment in open_segments:
        try:
            size = await spool.size(segment.storage_key)
            digest = await spool.sha256(segment.storage_key)
        except (MissingObject, ValueError):
            size, digest = 0, ""
        end = (
            await asyncio.to_thread(last_written_ms, str(spool.path(segment.storage_key)))
            if size
            else None
        )
        if end is None:
            segment.status = SegmentStatus.MISSING
            segment.end_ms = segment.start_ms
            segment.bytes = size
            segment.sha256 = digest or None
        else:
            segment.status = SegmentStatus.RECOVERED
            segment.end_ms = max(end, segment.start_ms)
            segment.bytes = size
            segment.sha256 = digest
            last = max(last, segment.end_ms)
        segment.closed_at = now
        await link_segment(db, session, segment, segment.track_id)
    # Tracks still open end where their files end.
    for track in await db.scalars(
        select(RecordingTrack).where(
            RecordingTrack.session_id == session_id, RecordingTrack.end_ms.is_(None)
        )
    ):
        track_end = await db.scalar(
            select(func.max(RecordingSegment.end_ms)).where(RecordingSegment.track_id == track.id)
        )
        track.end_ms = int(track_end if track_end is not None else track.start_ms)
    restart_ms = clock.offset_ms(now)
    db.add(
        timeline_entry(
            session_id,
            clock,
            RecordingEventKind.GAP,
            detail={"from_ms": last, "to_ms": restart_ms, "reason": "process_ended"},
            at=now,
            offset_ms=last,
        )
    )
    session.status = RecordingStatus.INTERRUPTED
    session.ended_at = now
    await db.flush()
