"""The audit log: who played, downloaded, exported, released or verified which recording,
and when. Append-only and hash-chained (see :mod:`server.audit.log`); ``audit_head`` is the
single row that serialises appends and remembers the chain's end, so a truncated log shows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class AuditEntry(Base):
    """One audited act. ``hash`` covers every other field and ``prev_hash`` (the entry
    before it), so altering or removing any entry breaks the chain from there on.

    No foreign keys on purpose: the log must outlive (and never block) changes elsewhere;
    the actor's name and role are copied as they were at the time."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))  # staff, participant, system
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    case_id: Mapped[int | None]
    session_id: Mapped[int | None]
    # One page view of the review page: playback is audited once per view, not per range.
    view_key: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_case", "case_id", "seq"),
        Index("ix_audit_log_session", "session_id", "action", "seq"),
    )


class AuditHead(Base):
    """The chain's end: one row (id 1), locked by every append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
