"""Where a case's agreement stands: its current version, the signatures that still count,
those invalidated by a later change of the text, and the centre's seal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, Document, DocumentSeal, DocumentSignature, Party
from server.documents.versions import latest
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.vocabulary import PartyRole


def document_ref(document: Document) -> dict[str, Any]:
    """The document as a binding names it."""
    return {
        "id": document.id,
        "case_id": document.case_id,
        "kind": str(document.kind),
        "version": document.version,
        "sha256": document.sha256,
    }


@dataclass
class AgreementState:
    """The agreement's signing state. ``valid`` are signatures bound to the current version's
    hash; ``invalidated`` are bound to any other hash (the text changed after signing)."""

    current: Document | None = None
    valid: list[DocumentSignature] = field(default_factory=list)
    invalidated: list[DocumentSignature] = field(default_factory=list)
    seal: DocumentSeal | None = None

    @property
    def sealed(self) -> bool:
        """Signed by everyone and sealed by the centre."""
        return self.seal is not None

    @property
    def signed_party_ids(self) -> set[int]:
        """Parties whose signature on the current version counts."""
        return {s.party_id for s in self.valid if s.party_id is not None}

    @property
    def mediator_signature(self) -> DocumentSignature | None:
        """The mediator's signature on the current version, if any."""
        return next((s for s in self.valid if s.signer_kind == "mediator"), None)

    @property
    def signable(self) -> bool:
        """Whether the current version may be signed."""
        return (
            self.current is not None
            and self.current.status == DocumentStatus.FINAL
            and self.seal is None
        )


async def required_parties(db: AsyncSession, case: Case) -> list[Party]:
    """The parties whose own signature the agreement needs (agents do not sign for them)."""
    rows = await db.execute(
        select(Party)
        .where(Party.case_id == case.id, Party.role != PartyRole.AGENT)
        .order_by(Party.id)
    )
    return list(rows.scalars())


async def agreement_state(db: AsyncSession, case: Case) -> AgreementState:
    """The state of ``case``'s agreement (an empty state if none was drafted)."""
    current = await latest(db, case.id, DocumentKind.AGREEMENT)
    if current is None:
        return AgreementState()
    rows = await db.execute(
        select(DocumentSignature)
        .where(DocumentSignature.case_id == case.id)
        .join(Document, Document.id == DocumentSignature.document_id)
        .where(Document.kind == DocumentKind.AGREEMENT)
        .order_by(DocumentSignature.id)
    )
    state = AgreementState(current=current)
    for signature in rows.scalars():
        if signature.document_id == current.id and signature.document_sha256 == current.sha256:
            state.valid.append(signature)
        else:
            state.invalidated.append(signature)
    state.seal = (
        await db.execute(
            select(DocumentSeal)
            .where(
                DocumentSeal.document_id == current.id,
                DocumentSeal.document_sha256 == current.sha256,
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    return state
