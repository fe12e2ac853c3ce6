"""The session's hash chain when segments close concurrently, on PostgreSQL.

One recording session normally has one writer (its :class:`SessionRecorder`'s database task),
but the chain must not depend on that: :func:`recording.recorder.link_segment` takes a row lock
on the session, so closes racing on separate connections still make one unbroken chain.
(Capture through the SFU is tested in tests/signaling/test_live_recording.py.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from recording.chain import GENESIS, ChainEntry, link
from recording.recorder import link_segment, lock_chain
from recording.vocabulary import RecordingStatus, SegmentStatus
from server.db.base import utcnow
from server.db.recording import RecordingSegment, RecordingSession
from tests.recording.fabricate import make_recorded_session
from tests.world import World

CLOSES = 16


@pytest.fixture
def backend() -> str:
    """PostgreSQL: where row locks mean something."""
    return "postgresql"


async def test_concurrent_closes_make_one_unbroken_chain(
    db: AsyncSession, world: World, tmp_path: Path
) -> None:
    fab = await make_recorded_session(
        db, world, tmp_path / "recordings", parties=2, seconds=1.0, segment_seconds=1.0
    )
    session = RecordingSession(
        hearing_id=fab.hearing_id,
        case_id=fab.case_id,
        status=RecordingStatus.RECORDING,
        started_at=utcnow(),
        worker="test",
        chain_head="",
        chain_length=0,
    )
    db.add(session)
    await db.commit()
    track_ids = sorted(fab.tracks.values())
    assert isinstance(db.bind, AsyncEngine)
    sessions = async_sessionmaker(db.bind, expire_on_commit=False)

    async def close(n: int) -> None:
        async with sessions() as other:
            locked = await lock_chain(other, session.id)
            segment = RecordingSegment(
                track_id=track_ids[n % len(track_ids)],
                session_id=session.id,
                index=1000 + n,
                status=SegmentStatus.CLOSED,
                storage_key=f"sessions/{session.id}/tracks/x/{n:06d}.webm",
                start_ms=n * 1000,
                end_ms=n * 1000 + 999,
                bytes=n,
                sha256=f"{n:064x}",
            )
            other.add(segment)
            await other.flush()
            await link_segment(other, locked, segment, segment.track_id)
            await other.commit()

    await asyncio.gather(*(close(n) for n in range(CLOSES)))

    stored = await db.get(RecordingSession, session.id, populate_existing=True)
    assert stored is not None and stored.chain_length == CLOSES
    segments = (
        await db.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.session_id == session.id)
            .order_by(RecordingSegment.chain_index)
        )
    ).all()
    assert [s.chain_index for s in segments] == list(range(CLOSES))
    head = GENESIS
    for s in segments:
        assert s.end_ms is not None and s.sha256 is not None and s.chain_index is not None
        entry = ChainEntry(
            session.id, s.chain_index, s.track_id, s.index, s.start_ms, s.end_ms, s.sha256
        )
        head = link(head, entry)
        assert s.chain_hash == head
    assert stored.chain_head == head
