"""Documents made from templates: every version kept, each with the SHA-256 of its content."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, UtcDateTime, utcnow
from server.documents.vocabulary import DocumentKind, DocumentStatus


class Document(Base):
    """One version of a case document. ``content`` is the canonical text the hash covers (the
    rendered HTML); ``data`` is the JSON the template was filled with. A new version of the
    same kind supersedes the older ones; signatures bind to ``sha256``."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(EnumString(DocumentKind, 32))
    version: Mapped[int]
    status: Mapped[DocumentStatus] = mapped_column(EnumString(DocumentStatus, 16))
    template: Mapped[str] = mapped_column(String(100))  # e.g. "agreement.html@centre:620602"
    data: Mapped[str] = mapped_column(Text, default="{}")
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("hearings.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "kind", "version", name="uq_documents_version"),
        Index("ix_documents_case_kind", "case_id", "kind", "version"),
    )
