"""Transcripts of recorded audio tracks: one per track and engine run, lines on the session
clock, attributed to the track's participant. Machine drafts until a person accepts them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from recording.vocabulary import TranscriptStatus
from server.db.base import Base, EnumString, UtcDateTime, utcnow


class Transcript(Base):
    """One recogniser run over one recorded audio track."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("recording_tracks.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_transcripts_participant")
    )
    engine: Mapped[str] = mapped_column(String(32))  # pocketsphinx, vosk
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class TranscriptLine(Base):
    """One recognised utterance on the session clock."""

    __tablename__ = "transcript_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_transcript_lines_participant")
    )
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[TranscriptStatus] = mapped_column(EnumString(TranscriptStatus, 16))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_transcript_lines_session", "session_id", "start_ms"),)
