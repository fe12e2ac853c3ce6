"""Evidence packages (exports) of recording sessions: who asked for which session's package,
the job that builds it, and where the finished zip is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class RecordingExport(Base):
    """One evidence package of one session. ``sealed``: it holds every caucus room (for the
    centre and the mediator only); otherwise only the main room and caucus rooms released to
    the court. ``package_key`` is its storage key once built (from ids only)."""

    __tablename__ = "recording_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    sealed: Mapped[bool] = mapped_column(default=False)
    package_key: Mapped[str] = mapped_column(String(255), default="")
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_version: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_recording_exports_session", "session_id", "id"),)
