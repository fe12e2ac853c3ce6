"""Recordings of hearings: a recording session, its per-participant tracks, their segment
files (hash-chained), the session's timeline, caucus releases and reviewers' bookmarks.

Files are named from database ids only (see :func:`recording.storage.segment_key`); nothing a
client sends ever becomes part of a path.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from recording.vocabulary import (
    RecordingEventKind,
    RecordingStatus,
    SegmentStatus,
    TrackKind,
    TrackLabel,
)
from server.db.base import Base, EnumString, UtcDateTime, utcnow


class RecordingSession(Base):
    """One recording of a hearing, from the mediator's start to the stop. Pauses stay inside
    it. The session clock (``offset_ms`` everywhere) counts from ``started_at``."""

    __tablename__ = "recording_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[RecordingStatus] = mapped_column(EnumString(RecordingStatus, 16))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    started_by_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_recording_sessions_started_by")
    )
    # The process recording it (so the next start of that process finds what it left open).
    worker: Mapped[str] = mapped_column(String(64), default="")
    # Last segment of the session's hash chain.
    chain_head: Mapped[str] = mapped_column(String(64), default="")
    chain_length: Mapped[int] = mapped_column(default=0)


class RecordingTrack(Base):
    """One participant's audio, camera or screen track in one room (main or a caucus room),
    for as long as it was continuously published there. ``first_frame_at`` is the wall clock
    of its first frame; its files carry timestamps on the session clock."""

    __tablename__ = "recording_tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_recording_tracks_participant")
    )
    # "main" or "caucus-<n>": caucus rooms are sealed apart (see CaucusRelease).
    sub_room: Mapped[str] = mapped_column(String(16))
    kind: Mapped[TrackKind] = mapped_column(EnumString(TrackKind, 8))
    label: Mapped[TrackLabel] = mapped_column(EnumString(TrackLabel, 16))
    codec: Mapped[str] = mapped_column(String(16))  # vp8, opus, h264
    container: Mapped[str] = mapped_column(String(8))  # webm, mp4
    first_frame_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    start_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingSegment(Base):
    """About ten seconds of one track, in its own file. When closed its SHA-256 joins the
    session's hash chain (``chain_index``, ``chain_hash``; see :mod:`recording.chain`)."""

    __tablename__ = "recording_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("recording_tracks.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    index: Mapped[int]  # 0, 1, ... within the track
    status: Mapped[SegmentStatus] = mapped_column(EnumString(SegmentStatus, 16))
    storage_key: Mapped[str] = mapped_column(String(255))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    chain_index: Mapped[int | None]
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("track_id", "index", name="uq_recording_segments_track_index"),
        UniqueConstraint("session_id", "chain_index", name="uq_recording_segments_chain"),
    )


class RecordingEvent(Base):
    """One entry of a session's timeline, with wall-clock time and session clock. Append-only.
    ``detail`` is a JSON object (e.g. ``{"from": "main", "to": "caucus-1"}``)."""

    __tablename__ = "recording_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    kind: Mapped[RecordingEventKind] = mapped_column(EnumString(RecordingEventKind, 24))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    offset_ms: Mapped[int] = mapped_column(BigInteger)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id", name="fk_recording_events_participant")
    )
    sub_room: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_recording_events_session", "session_id", "offset_ms", "id"),)


class CaucusRelease(Base):
    """The explicit act of releasing a sealed caucus room's recording to the court.
    Append-only: a release cannot be taken back silently."""

    __tablename__ = "recording_caucus_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    sub_room: Mapped[str] = mapped_column(String(16))
    released_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingBookmark(Base):
    """A reviewer's mark on a session's clock, with a note."""

    __tablename__ = "recording_bookmarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    offset_ms: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
