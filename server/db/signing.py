"""Signing keys of organisations and the signed manifests of recording sessions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, EnumString, UtcDateTime, utcnow


class TimestampStatus(StrEnum):
    """Where a manifest's RFC 3161 time-stamp stands."""

    NONE = "none"  # no time-stamp authority configured
    PENDING = "pending"  # configured, not asked yet
    STAMPED = "stamped"  # token stored and checked
    UNREACHABLE = "unreachable"  # asked and failed; the retry loop asks again


class SigningKey(Base):
    """An organisation's Ed25519 key (centres and courts sign). The private key is stored
    encrypted with AES-GCM under a key derived from the server's secret key, so every process
    of one deployment shares it; ``fingerprint`` (SHA-256 of the raw public key, hex) is the
    key id printed in manifests and shown on the public keys page."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519")
    public_pem: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    # base64(nonce || AES-GCM ciphertext of the raw 32-byte private key)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingManifest(Base):
    """One signed version of a session's manifest: the exact canonical bytes that were signed
    (``body``), their SHA-256, the Ed25519 signature and, when a time-stamp authority is
    configured, its RFC 3161 token. A new version is added when the session's record changes
    after sealing (a recovered gap, a caucus release); earlier versions stay."""

    __tablename__ = "recording_manifests"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64
    key_id: Mapped[str] = mapped_column(String(64))
    timestamp_token: Mapped[str | None] = mapped_column(Text)  # base64 DER TimeStampToken
    timestamp_status: Mapped[TimestampStatus] = mapped_column(EnumString(TimestampStatus, 16))
    timestamped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("session_id", "version", name="uq_recording_manifests_session_version"),
        Index("ix_recording_manifests_timestamp_status", "timestamp_status"),
    )
