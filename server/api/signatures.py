"""``/api/cases/{id}/agreement``: where a case's agreement stands (signatures, seal)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel

from server.access import case_in_scope
from server.api.routes import api
from server.context import ctx, match_int, staff
from server.db import DocumentSignature
from server.signatures.state import agreement_state

TAG = "confirmation"


class SignatureOut(BaseModel):
    """One signature and whether it still counts (bound to the current text)."""

    id: int
    document_id: int
    document_sha256: str
    signer_kind: str
    signer_name: str
    method: str
    signed_at: dt.datetime
    key_id: str
    valid: bool


class AgreementOut(BaseModel):
    """The case's current agreement version and its signatures."""

    document_id: int | None
    version: int | None
    status: str | None
    sha256: str | None
    sealed: bool
    sealed_at: dt.datetime | None
    signatures: list[SignatureOut]


def _signature(row: DocumentSignature, valid: bool) -> SignatureOut:
    return SignatureOut(
        id=row.id,
        document_id=row.document_id,
        document_sha256=row.document_sha256,
        signer_kind=row.signer_kind,
        signer_name=row.signer_name,
        method=row.method,
        signed_at=row.signed_at,
        key_id=row.key_id,
        valid=valid,
    )


@api.operation(
    "GET",
    "/api/cases/{case_id}/agreement/signatures",
    summary="The agreement's signatures and seal (signatures bound to an older text: invalid)",
    tag=TAG,
    response=AgreementOut,
    errors=(404,),
)
async def agreement_get(request: web.Request) -> AgreementOut:
    """The current agreement version of a case in scope, with every signature ever made on
    any version (``valid`` false when bound to another text)."""
    context = ctx(request)
    case = await case_in_scope(context.db, staff(request), match_int(request, "case_id"))
    state = await agreement_state(context.db, case)
    current = state.current
    return AgreementOut(
        document_id=current.id if current else None,
        version=current.version if current else None,
        status=str(current.status) if current else None,
        sha256=current.sha256 if current else None,
        sealed=state.sealed,
        sealed_at=state.seal.sealed_at if state.seal else None,
        signatures=[_signature(s, True) for s in state.valid]
        + [_signature(s, False) for s in state.invalidated],
    )
