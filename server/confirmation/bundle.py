"""The application's bundle for the court: what the judge reviews, as ids and links (the
evidence itself stays where it is stored and is served through its own access-checked pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import (
    Case,
    CaucusRelease,
    Document,
    DocumentSeal,
    DocumentSignature,
    Hearing,
    HearingParticipant,
    IdentityCheck,
    RecordingConsent,
    RecordingManifest,
    RecordingSession,
)
from server.documents.vocabulary import DocumentKind, DocumentStatus

MAIN_ROOM = "main"


def _document(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "kind": str(document.kind),
        "version": document.version,
        "sha256": document.sha256,
        "html": f"/documents/{document.id}",
        "pdf": f"/documents/{document.id}.pdf",
    }


async def assemble(db: AsyncSession, case: Case, agreement: Document) -> dict[str, Any]:
    """The bundle: the signed agreement with its signatures and seal, the mediation records,
    the recordings of the case (main room; a caucus only if released to the court) with their
    manifests, and the identity and recording-consent logs of the case's hearings."""
    signatures = await db.execute(
        select(DocumentSignature.id).where(DocumentSignature.document_id == agreement.id)
    )
    seals = await db.execute(
        select(DocumentSeal.id).where(DocumentSeal.document_id == agreement.id)
    )
    records = await db.execute(
        select(Document)
        .where(
            Document.case_id == case.id,
            Document.kind == DocumentKind.MEDIATION_RECORD,
            Document.status != DocumentStatus.SUPERSEDED,
        )
        .order_by(Document.id)
    )
    recordings: list[dict[str, Any]] = []
    sessions = await db.execute(
        select(RecordingSession)
        .where(RecordingSession.case_id == case.id)
        .order_by(RecordingSession.id)
    )
    for session in sessions.scalars():
        released = await db.execute(
            select(CaucusRelease.sub_room).where(CaucusRelease.session_id == session.id)
        )
        manifest = (
            await db.execute(
                select(RecordingManifest)
                .where(RecordingManifest.session_id == session.id)
                .order_by(RecordingManifest.version.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        recordings.append(
            {
                "session_id": session.id,
                "hearing_id": session.hearing_id,
                "review": f"/recordings/{session.id}",
                "sub_rooms": [MAIN_ROOM, *sorted({r for (r,) in released})],
                "manifest": (
                    {"sha256": manifest.sha256, "key_id": manifest.key_id} if manifest else None
                ),
            }
        )
    hearing_ids = select(Hearing.id).where(Hearing.case_id == case.id)
    participant_ids = select(HearingParticipant.id).where(
        HearingParticipant.hearing_id.in_(hearing_ids)
    )
    identity = await db.execute(
        select(IdentityCheck.id).where(IdentityCheck.participant_id.in_(participant_ids))
    )
    consents = await db.execute(
        select(RecordingConsent.id).where(RecordingConsent.participant_id.in_(participant_ids))
    )
    return {
        "agreement": {
            **_document(agreement),
            "signatures": [i for (i,) in signatures],
            "seals": [i for (i,) in seals],
        },
        "records": [_document(d) for d in records.scalars()],
        "recordings": recordings,
        "identity_checks": sorted(i for (i,) in identity),
        "recording_consents": sorted(i for (i,) in consents),
    }
