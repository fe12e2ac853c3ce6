"""A long recorded session for the review page's benchmark, made without encoding it all.

``tests.recording.fabricate.make_recorded_session`` records the first ``segment_seconds`` of
every participant for real (VP8 camera, Opus microphone); this then remuxes each track's first
segment file over and over with its timestamps shifted by one segment length each time (PyAV,
packets copied, nothing decoded or encoded) until the session is ``minutes`` long, and adds
the rows capture would have written. An hour of four participants (2,880 files) takes about
a minute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import av
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.storage import LocalStore, segment_key
from recording.vocabulary import SegmentStatus, TrackKind
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from tests.recording.fabricate import RecordedSession, make_recorded_session, write_segment
from tests.world import World


def _packets(path: Path) -> list[tuple[bytes, bool, int]]:
    """``(data, keyframe, pts_ms)`` of a one-stream segment file, as stored."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        out = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            pts_ms = int(packet.pts * stream.time_base * 1000)
            out.append((bytes(packet), bool(packet.is_keyframe), pts_ms))
        return out


async def make_long_session(
    db: AsyncSession,
    world: World,
    store_root: Path,
    *,
    minutes: float = 60,
    parties: int = 4,
    segment_seconds: float = 10,
    width: int = 640,
    height: int = 360,
    fps: int = 15,
) -> RecordedSession:
    """A stopped session of ``minutes`` with ``parties`` people (camera + microphone each),
    in ``segment_seconds`` files. The caller commits."""
    recorded = await make_recorded_session(
        db,
        world,
        store_root,
        parties=parties,
        seconds=segment_seconds,
        segment_seconds=segment_seconds,
        width=width,
        height=height,
        fps=fps,
    )
    store = LocalStore(store_root)
    cut_ms = int(segment_seconds * 1000)
    count = int(minutes * 60 / segment_seconds)
    tracks = (
        await db.scalars(
            select(RecordingTrack).where(RecordingTrack.session_id == recorded.session_id)
        )
    ).all()
    for track in tracks:
        first = await db.scalar(
            select(RecordingSegment).where(
                RecordingSegment.track_id == track.id, RecordingSegment.index == 0
            )
        )
        assert first is not None
        clip = _packets(store.path(first.storage_key))
        kind = TrackKind(track.kind)
        for index in range(1, count):
            shift = index * cut_ms
            key = segment_key(recorded.session_id, track.id, index, "webm")
            path = store.path(key)
            write_segment(
                path,
                kind,
                [(data, keyframe, pts + shift) for data, keyframe, pts in clip],
                width=width,
                height=height,
            )
            data = path.read_bytes()
            db.add(
                RecordingSegment(
                    track_id=track.id,
                    session_id=recorded.session_id,
                    index=index,
                    status=SegmentStatus.CLOSED,
                    storage_key=key,
                    start_ms=first.start_ms + shift,
                    end_ms=(first.end_ms or first.start_ms) + shift,
                    bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        track.end_ms = track.start_ms + count * cut_ms
        await db.flush()
    session = await db.get(RecordingSession, recorded.session_id)
    assert session is not None
    session.ended_at = session.started_at + dt.timedelta(milliseconds=count * cut_ms)
    recorded.seconds = count * segment_seconds
    return recorded
