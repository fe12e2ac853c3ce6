"""The ``transcribe_session`` background job: every audio track of a recording session (main
room and caucus rooms alike; access is enforced when lines are read) through the configured
recogniser, each line attributed to the track's participant, as machine drafts.

A re-run replaces the machine drafts of the same engine on each track, never accepted lines,
and adds no draft over a stretch a person has already accepted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.review import review_store
from recording.transcription.audio import decode_track, read_segments
from recording.transcription.recogniser import (
    Recogniser,
    RecogniserError,
    Utterance,
    make_recogniser,
)
from recording.vocabulary import TrackKind, TranscriptStatus
from server.db.job import Job
from server.db.recording import RecordingTrack
from server.db.transcript import Transcript, TranscriptLine
from server.jobs.runner import JobContext, JobError, JobRunner
from server.jobs.vocabulary import JobStatus
from server.settings import Settings

logger = logging.getLogger(__name__)

TRANSCRIBE_JOB = "transcribe_session"
# Share of a track's progress spent decoding its audio (the rest is recognition).
DECODE_SHARE = 0.1


@dataclass(frozen=True)
class TrackResult:
    """What one track's run wrote."""

    track_id: int
    lines: int
    seconds: float


def register_transcription_jobs(runner: JobRunner) -> None:
    """Run ``transcribe_session`` jobs with :func:`transcribe_session`."""
    runner.register(TRANSCRIBE_JOB, transcribe_session)


async def pending_job(db: AsyncSession, session_id: int) -> Job | None:
    """A queued or running transcription of the session, if there is one (so that a second
    click follows it instead of starting another)."""
    jobs = await db.scalars(
        select(Job)
        .where(Job.kind == TRANSCRIBE_JOB, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        .order_by(Job.id)
    )
    for job in jobs:
        try:
            if json.loads(job.params).get("session_id") == session_id:
                return job
        except (ValueError, AttributeError):
            continue
    return None


def recogniser_for(settings: Settings) -> Recogniser:
    """The configured recogniser (:class:`RecogniserError` if it cannot be made)."""
    return make_recogniser(
        settings.transcription_engine, settings.transcription_language, settings.vosk_model_dir
    )


async def transcribe_session(job: JobContext) -> dict[str, Any]:
    """The job handler: ``params = {"session_id": int}``."""
    session_id = int(job.params["session_id"])
    try:
        recogniser = await job.run_in_thread(recogniser_for, job.settings)
    except RecogniserError as exc:
        raise JobError(exc.key) from exc
    async with job.sessionmaker() as db:
        tracks = list(
            await db.scalars(
                select(RecordingTrack)
                .where(
                    RecordingTrack.session_id == session_id,
                    RecordingTrack.kind == TrackKind.AUDIO,
                )
                .order_by(RecordingTrack.start_ms, RecordingTrack.id)
            )
        )
    if not tracks:
        raise JobError("transcription.error.no_audio")
    store = review_store(job.settings)
    results = []
    for number, track in enumerate(tracks):
        base, share = number / len(tracks), 1 / len(tracks)
        await job.progress(base, "transcription.progress.decoding")
        async with job.sessionmaker() as db:
            files = await read_segments(db, store, track)
        audio = await job.run_in_thread(decode_track, files)
        await job.progress(base + share * DECODE_SHARE, "transcription.progress.recognising")

        def report(fraction: float, base: float = base, share: float = share) -> None:
            job.report(base + share * (DECODE_SHARE + (1 - DECODE_SHARE) * fraction))

        utterances = await job.run_in_thread(recogniser.recognise, audio.pcm, report)
        async with job.sessionmaker() as db:
            lines = await save_track_transcript(
                db, track, recogniser.name, recogniser.language, audio.start_ms, utterances
            )
            await db.commit()
        results.append(TrackResult(track.id, lines, round(audio.seconds, 2)))
        logger.info(
            "session %s track %s: %d lines from %.1f s", session_id, track.id, lines, audio.seconds
        )
    await job.progress(1.0, "transcription.progress.done")
    return {
        "session_id": session_id,
        "engine": recogniser.name,
        "tracks": len(results),
        "lines": sum(r.lines for r in results),
        "seconds": round(sum(r.seconds for r in results), 2),
    }


async def save_track_transcript(
    db: AsyncSession,
    track: RecordingTrack,
    engine: str,
    language: str,
    start_ms: int,
    utterances: list[Utterance],
) -> int:
    """Replace the track's machine drafts of ``engine`` with ``utterances`` (times relative
    to ``start_ms`` on the session clock); accepted lines stay, and no draft is added over
    them. The number of lines written."""
    accepted = list(
        await db.execute(
            select(TranscriptLine.start_ms, TranscriptLine.end_ms)
            .join(Transcript, Transcript.id == TranscriptLine.transcript_id)
            .where(
                Transcript.track_id == track.id,
                TranscriptLine.status == TranscriptStatus.ACCEPTED,
            )
        )
    )
    old = list(
        await db.scalars(
            select(Transcript.id).where(
                Transcript.track_id == track.id, Transcript.engine == engine
            )
        )
    )
    if old:
        await db.execute(
            delete(TranscriptLine).where(
                TranscriptLine.transcript_id.in_(old),
                TranscriptLine.status == TranscriptStatus.MACHINE_DRAFT,
            )
        )
        kept = set(
            await db.scalars(
                select(TranscriptLine.transcript_id)
                .where(TranscriptLine.transcript_id.in_(old))
                .group_by(TranscriptLine.transcript_id)
                .having(func.count() > 0)
            )
        )
        if empty := [t for t in old if t not in kept]:
            await db.execute(delete(Transcript).where(Transcript.id.in_(empty)))
    transcript = Transcript(
        session_id=track.session_id,
        track_id=track.id,
        participant_id=track.participant_id,
        engine=engine,
        language=language,
    )
    db.add(transcript)
    await db.flush()
    written = 0
    for utterance in utterances:
        line_start = start_ms + round(utterance.start_s * 1000)
        line_end = max(line_start + 1, start_ms + round(utterance.end_s * 1000))
        if any(a_start < line_end and line_start < a_end for a_start, a_end in accepted):
            continue
        db.add(
            TranscriptLine(
                transcript_id=transcript.id,
                session_id=track.session_id,
                participant_id=track.participant_id,
                start_ms=line_start,
                end_ms=line_end,
                text=utterance.text,
                status=TranscriptStatus.MACHINE_DRAFT,
            )
        )
        written += 1
    await db.flush()
    return written
