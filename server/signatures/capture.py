"""Signing a FINAL agreement: a party through their link, then the mediator, whose signature
completes it and applies the centre's seal (the centre's key over the document hash and every
signature binding)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import PartyPrincipal, StaffPrincipal
from server.db import Case, Document, DocumentSeal, DocumentSignature, Party
from server.db.base import utcnow
from server.documents.versions import latest
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from server.keys import signing_key
from server.settings import Settings
from server.signatures.binding import (
    seal_binding,
    session_hash,
    sha256_hex,
    sign_binding,
    signature_binding,
)
from server.signatures.image import decode_png
from server.signatures.schemas import ID_TAIL_LENGTH, SignRequest
from server.signatures.state import agreement_state, document_ref, required_parties
from server.vocabulary import PartyRole, Role
from server.workflow.timeline import record

logger = logging.getLogger(__name__)


async def signable(db: AsyncSession, case_id: int, document_id: int) -> Document:
    """The agreement version ``document_id`` of case ``case_id`` if it may be signed now:
    :class:`NotFound` for another case's document, :class:`Conflict` for a superseded or
    draft version."""
    document = await db.get(Document, document_id)
    if document is None or document.case_id != case_id or document.kind != DocumentKind.AGREEMENT:
        raise NotFound()
    current = await latest(db, case_id, DocumentKind.AGREEMENT)
    if document.status == DocumentStatus.SUPERSEDED or (
        current is not None and current.id != document.id
    ):
        raise Conflict("confirmation.error.superseded")
    if document.status != DocumentStatus.FINAL:
        raise Conflict("confirmation.error.not_final")
    return document


def _mark(req: SignRequest, name: str) -> tuple[str, bytes | None]:
    """The signature's method and picture (``None`` for the typed alternative)."""
    if req.method == "drawn":
        return "drawn", decode_png(req.signature_png)
    fields: dict[str, FieldError] = {}
    if req.typed_name != name:
        fields["typed_name"] = FieldError("confirmation.error.typed_name")
    if not req.confirm:
        fields["confirm"] = FieldError("confirmation.error.confirm_required")
    if fields:
        raise InvalidInput(fields=fields)
    return "typed", None


def _identity(party: Party, req: SignRequest) -> dict[str, object]:
    """Check the name and the ID number's tail against the case's party record."""
    fields: dict[str, FieldError] = {}
    if req.full_name != party.name:
        fields["full_name"] = FieldError("confirmation.error.identity_name")
    if party.id_number and req.id_tail.upper() != party.id_number[-ID_TAIL_LENGTH:].upper():
        fields["id_tail"] = FieldError("confirmation.error.identity_id")
    if fields:
        raise InvalidInput("confirmation.error.identity", fields=fields)
    return {
        "method": "name+id_tail" if party.id_number else "name",
        "name": party.name,
        "id_tail_checked": bool(party.id_number),
    }


async def _already_signed(db: AsyncSession, document: Document, **who: int) -> bool:
    query = select(DocumentSignature.id).where(DocumentSignature.document_id == document.id)
    for column, value in who.items():
        query = query.where(getattr(DocumentSignature, column) == value)
    return (await db.execute(query.limit(1))).first() is not None


async def _sign(
    db: AsyncSession,
    settings: Settings,
    case: Case,
    document: Document,
    *,
    signer: dict[str, object],
    identity: dict[str, object],
    method: str,
    png: bytes | None,
    session_token: str | None,
    now: dt.datetime,
) -> DocumentSignature:
    key = await signing_key(db, settings, case.centre_id)
    image_sha = sha256_hex(png) if png is not None else ""
    session = session_hash(session_token)
    binding, server_signature = sign_binding(
        key,
        signature_binding(
            document=document_ref(document),
            signer=signer,
            identity=identity,
            method=method,
            image_sha256=image_sha,
            signed_at=now,
            session=session,
            key_id=key.key_id,
        ),
    )
    row = DocumentSignature(
        document_id=document.id,
        document_sha256=document.sha256,
        case_id=case.id,
        signer_kind=str(signer["kind"]),
        party_id=signer.get("party_id"),
        staff_id=signer.get("staff_id"),
        signer_name=str(signer["name"]),
        method=method,
        image_png=png,
        image_sha256=image_sha,
        session_hash=session,
        signed_at=now,
        binding=binding,
        org_id=case.centre_id,
        key_id=key.key_id,
        server_signature=server_signature,
    )
    db.add(row)
    await db.flush()
    return row


async def sign_as_party(
    db: AsyncSession,
    settings: Settings,
    who: PartyPrincipal,
    req: SignRequest,
    *,
    session_token: str | None,
) -> DocumentSignature:
    """``who`` signs the agreement version ``req.document_id`` of their own case."""
    case = await db.get(Case, who.case_id)
    party = await db.get(Party, who.party_id)
    if case is None or party is None:
        raise NotFound()
    document = await signable(db, case.id, req.document_id)
    if party.role == PartyRole.AGENT:
        raise Forbidden("confirmation.error.agent_signs")
    if await _already_signed(db, document, party_id=party.id):
        raise Conflict("confirmation.error.already_signed")
    if (await agreement_state(db, case)).sealed:
        raise Conflict("confirmation.error.already_sealed")
    identity = _identity(party, req)
    method, png = _mark(req, party.name)
    now = utcnow()
    row = await _sign(
        db,
        settings,
        case,
        document,
        signer={"kind": "party", "party_id": party.id, "role": str(party.role), "name": party.name},
        identity=identity,
        method=method,
        png=png,
        session_token=session_token,
        now=now,
    )
    await record(
        db,
        case,
        "agreement_signed",
        actor_label=party.name,
        document_id=document.id,
        version=document.version,
        signer="party",
    )
    return row


async def sign_as_mediator(
    db: AsyncSession,
    settings: Settings,
    who: StaffPrincipal,
    case: Case,
    req: SignRequest,
    *,
    session_token: str | None,
) -> DocumentSeal:
    """The mediator signs after every party has, and the centre's seal is applied at once."""
    if who.role != Role.MEDIATOR:
        raise Forbidden("confirmation.error.mediator_signs")
    document = await signable(db, case.id, req.document_id)
    state = await agreement_state(db, case)
    if state.sealed:
        raise Conflict("confirmation.error.already_sealed")
    missing = [
        p.name for p in await required_parties(db, case) if p.id not in state.signed_party_ids
    ]
    if missing:
        raise Conflict("confirmation.error.parties_first", names="、".join(missing))
    method, png = _mark(req, who.display_name)
    now = utcnow()
    await _sign(
        db,
        settings,
        case,
        document,
        signer={"kind": "mediator", "staff_id": who.staff_id, "name": who.display_name},
        identity={"method": "staff_session", "username": who.username},
        method=method,
        png=png,
        session_token=session_token,
        now=now,
    )
    seal = await seal_document(db, settings, case.centre_id, document, staff_id=who.staff_id)
    await record(
        db,
        case,
        "agreement_sealed",
        actor_id=who.staff_id,
        actor_label=who.display_name,
        document_id=document.id,
        version=document.version,
    )
    return seal


async def seal_document(
    db: AsyncSession,
    settings: Settings,
    org_id: int,
    document: Document,
    *,
    staff_id: int | None,
) -> DocumentSeal:
    """Organisation ``org_id``'s seal over ``document`` and every signature bound to it."""
    key = await signing_key(db, settings, org_id)
    rows = await db.execute(
        select(DocumentSignature.binding)
        .where(
            DocumentSignature.document_id == document.id,
            DocumentSignature.document_sha256 == document.sha256,
        )
        .order_by(DocumentSignature.id)
    )
    hashes = [sha256_hex(text.encode("utf-8")) for (text,) in rows]
    now = utcnow()
    binding, server_signature = sign_binding(
        key,
        seal_binding(
            document=document_ref(document),
            organisation={
                "id": key.organisation_id,
                "code": key.organisation_code,
                "name": key.organisation_name,
            },
            signature_hashes=hashes,
            sealed_at=now,
            key_id=key.key_id,
        ),
    )
    seal = DocumentSeal(
        document_id=document.id,
        document_sha256=document.sha256,
        org_id=org_id,
        staff_id=staff_id,
        sealed_at=now,
        binding=binding,
        key_id=key.key_id,
        server_signature=server_signature,
    )
    db.add(seal)
    await db.flush()
    logger.info(
        "sealed document %s (v%s) for organisation %s", document.id, document.version, org_id
    )
    return seal
