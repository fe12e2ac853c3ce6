"""The fabricated session other recording tests start from is itself sound: every segment
decodes, lies on the session clock where its row says, and the hash chain holds."""

from __future__ import annotations

from pathlib import Path

import av
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.chain import GENESIS, ChainEntry, link
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from tests.recording.fabricate import make_recorded_session
from tests.world import World


async def test_fabricated_session_files_decode_on_the_session_clock(
    db: AsyncSession, world: World, tmp_path: Path
) -> None:
    made = await make_recorded_session(
        db, world, tmp_path, parties=2, seconds=12, caucus_seconds=4, late_join={1: 3.0}
    )
    await db.commit()
    tracks = {t.id: t for t in await db.scalars(select(RecordingTrack))}
    assert len(tracks) == 2 * 2 + 2 * 2  # two seats in main, two in the caucus room
    segments = list(
        await db.scalars(select(RecordingSegment).order_by(RecordingSegment.chain_index))
    )
    head = GENESIS
    for segment in segments:
        track = tracks[segment.track_id]
        path = made.store.path(segment.storage_key)
        assert path.stat().st_size == segment.bytes
        with av.open(str(path)) as container:
            times = [f.time for f in container.decode(container.streams[0]) if hasattr(f, "time")]
        assert times and times[0] is not None, segment.storage_key
        first_ms = int(times[0] * 1000)
        assert abs(first_ms - segment.start_ms) <= 70, (segment.storage_key, first_ms)
        assert track.start_ms <= segment.start_ms < (track.end_ms or 0)
        head = link(
            head,
            ChainEntry(
                session_id=made.session_id,
                chain_index=segment.chain_index or 0,
                track_id=segment.track_id,
                segment_index=segment.index,
                start_ms=segment.start_ms,
                end_ms=segment.end_ms or 0,
                sha256=segment.sha256 or "",
            ),
        )
    session = await db.get(RecordingSession, made.session_id)
    assert session is not None and session.chain_head == head
    late = tracks[made.tracks[(made.seats[1].id, "main", "camera")]]
    assert late.start_ms == 3000
