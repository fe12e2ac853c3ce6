"""A recorded audio track as 16 kHz mono int16 PCM on the session clock.

Segment files carry session-clock timestamps (ms). Each decoded frame is placed at its own
timestamp, so a gap between segments, or inside one (packets lost, a pause), stays silence of
the right length and every recognised time maps back onto the session clock.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.storage import MissingObject, RecordingStore
from recording.transcription.recogniser import SAMPLE_RATE
from recording.vocabulary import SegmentStatus
from server.db.recording import RecordingSegment, RecordingTrack

logger = logging.getLogger(__name__)

# Segments with a readable file (an open one may still be growing; a missing one has none).
READABLE = (SegmentStatus.CLOSED, SegmentStatus.RECOVERED)
# A jump this large between consecutive frames starts a new run (placed at its own time).
JUMP_MS = 40
# Files older than the session-clock writer may count from 0: if a file's first timestamp is
# this far before its segment's start, it is taken as relative to the segment.
RELATIVE_SLACK_MS = 1000


@dataclass(frozen=True)
class SegmentFile:
    """One segment's bytes and where it starts on the session clock."""

    start_ms: int
    data: bytes


@dataclass(frozen=True)
class TrackAudio:
    """PCM from ``start_ms`` on the session clock (silence in gaps)."""

    start_ms: int
    pcm: np.ndarray  # int16, mono, 16 kHz

    @property
    def seconds(self) -> float:
        """Length of the PCM."""
        return len(self.pcm) / SAMPLE_RATE

    @property
    def end_ms(self) -> int:
        """Where the PCM ends on the session clock."""
        return self.start_ms + len(self.pcm) * 1000 // SAMPLE_RATE


async def read_segments(
    db: AsyncSession, store: RecordingStore, track: RecordingTrack
) -> list[SegmentFile]:
    """The track's readable segment files in order (a file that has gone is logged and left
    out: its time becomes silence)."""
    segments = await db.scalars(
        select(RecordingSegment)
        .where(RecordingSegment.track_id == track.id, RecordingSegment.status.in_(READABLE))
        .order_by(RecordingSegment.index)
    )
    files = []
    for segment in segments:
        try:
            files.append(SegmentFile(segment.start_ms, await store.read(segment.storage_key)))
        except MissingObject:
            logger.warning("track %s: segment %s has no file", track.id, segment.index)
    return files


def _runs(segment: SegmentFile) -> list[tuple[int, np.ndarray]]:
    """``(start_ms, pcm)`` runs of one segment file, split where timestamps jump."""
    runs: list[tuple[int, list[np.ndarray]]] = []
    resampler: Any = None
    expected_ms: float | None = None
    shift_ms: float | None = None

    def drain() -> None:
        if resampler is not None and runs:
            runs[-1][1].extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))

    with av.open(io.BytesIO(segment.data), "r") as container:
        for frame in container.decode(audio=0):
            if frame.pts is None or frame.time_base is None:
                continue
            pts_ms = float(frame.pts * frame.time_base * 1000)
            if shift_ms is None:
                relative = pts_ms < segment.start_ms - RELATIVE_SLACK_MS
                shift_ms = float(segment.start_ms) if relative else 0.0
            at_ms = pts_ms + shift_ms
            if expected_ms is None or abs(at_ms - expected_ms) > JUMP_MS:
                drain()
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                runs.append((round(at_ms), []))
            runs[-1][1].extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            expected_ms = at_ms + frame.samples * 1000 / frame.sample_rate
        drain()
    return [(start, np.concatenate(chunks)) for start, chunks in runs if chunks]


def decode_track(segments: Sequence[SegmentFile]) -> TrackAudio:
    """Decode and place every segment on the session clock (CPU-heavy: run in a thread)."""
    runs = [run for segment in segments for run in _runs(segment)]
    if not runs:
        return TrackAudio(segments[0].start_ms if segments else 0, np.zeros(0, np.int16))
    start_ms = min(start for start, _ in runs)
    end = max((start - start_ms) * SAMPLE_RATE // 1000 + len(pcm) for start, pcm in runs)
    out = np.zeros(end, np.int16)
    for start, pcm in runs:
        at = (start - start_ms) * SAMPLE_RATE // 1000
        out[at : at + len(pcm)] = pcm
    return TrackAudio(start_ms, out)
