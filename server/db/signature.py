"""Signatures on documents (签名) and the seals over them (印章): each row binds one signer to
one exact document version by its SHA-256, and carries the server's signature over that
binding so that any later change to the text or to the row is detectable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UtcDateTime, utcnow


class DocumentSignature(Base):
    """One signature on one document version.

    ``binding`` is the canonical JSON (see ``server.signatures.binding``) of what was signed:
    document id and sha256, the signer, how their identity was checked, the drawing's hash, the
    time and the web session's hash. ``server_signature`` is the centre key's Ed25519
    signature (base64) over exactly those bytes, by key ``key_id``.
    """

    __tablename__ = "document_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    signer_kind: Mapped[str] = mapped_column(String(16))  # "party" or "mediator"
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    signer_name: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(16))  # "drawn" or "typed"
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_sha256: Mapped[str] = mapped_column(String(64), default="")
    session_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    binding: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key_id: Mapped[str] = mapped_column(String(64))
    server_signature: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_document_signatures_case", "case_id", "document_id"),
        # A party signs a version once (two submits racing: the second fails whole).
        UniqueConstraint("document_id", "party_id", name="uq_document_signatures_party"),
    )


class DocumentSeal(Base):
    """An organisation's seal over a document: the centre's over a signed agreement, or the
    court's over its ruling. ``binding`` covers the document's sha256 and the sha256 of every
    signature binding sealed with it."""

    __tablename__ = "document_seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    sealed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    binding: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    server_signature: Mapped[str] = mapped_column(String(128))
