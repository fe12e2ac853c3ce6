"""Server-side web sessions and login attempts (shared state lives in the database)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class WebSession(Base):
    """A logged-in browser or API client. The cookie holds a random token; only its SHA-256 is
    stored here. A session belongs to a staff account or to a party (through their link)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearing_participants.id"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    locale: Mapped[str | None] = mapped_column(String(8))


class LoginAttempt(Base):
    """A login attempt, kept to rate-limit guessing across every process of a deployment."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    remote: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    success: Mapped[bool]

    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)
