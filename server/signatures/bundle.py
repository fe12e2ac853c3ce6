"""A signed document as a self-contained bundle for ``bilin verify``: a zip holding
``document.json`` (the document's identity and hash, every signature and seal with its
canonical binding and server signature), ``document.html`` (exactly the hashed content),
``signatures/<id>.png`` (the drawings) and ``signers/<key_id>.pem`` (the public keys)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Document, DocumentSeal, DocumentSignature, SigningKey

BUNDLE_FORMAT = "bilin-document-bundle/1"


async def _pem(db: AsyncSession, key_id: str) -> str:
    row = (
        await db.execute(select(SigningKey).where(SigningKey.fingerprint == key_id))
    ).scalar_one_or_none()
    return row.public_pem if row is not None else ""


async def export_bundle(db: AsyncSession, document: Document) -> bytes:
    """The zip bundle of ``document`` with the signatures and seals bound to it."""
    signatures = list(
        (
            await db.execute(
                select(DocumentSignature)
                .where(DocumentSignature.document_id == document.id)
                .order_by(DocumentSignature.id)
            )
        ).scalars()
    )
    seals = list(
        (
            await db.execute(
                select(DocumentSeal)
                .where(DocumentSeal.document_id == document.id)
                .order_by(DocumentSeal.id)
            )
        ).scalars()
    )
    pems: dict[str, str] = {}
    for key_id in {s.key_id for s in signatures} | {s.key_id for s in seals}:
        pems[key_id] = await _pem(db, key_id)
    body: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "document": {
            "id": document.id,
            "case_id": document.case_id,
            "kind": str(document.kind),
            "version": document.version,
            "status": str(document.status),
            "template": document.template,
            "sha256": document.sha256,
            "content": "document.html",
        },
        "signatures": [
            {
                "id": s.id,
                "signer": s.signer_name,
                "binding": s.binding,
                "server_signature": s.server_signature,
                "key_id": s.key_id,
                "signer_pem": f"signers/{s.key_id}.pem",
                "image": f"signatures/{s.id}.png" if s.image_png is not None else None,
            }
            for s in signatures
        ],
        "seals": [
            {
                "id": s.id,
                "binding": s.binding,
                "server_signature": s.server_signature,
                "key_id": s.key_id,
                "signer_pem": f"signers/{s.key_id}.pem",
            }
            for s in seals
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "document.json", json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True)
        )
        archive.writestr("document.html", document.content.encode("utf-8"))
        for s in signatures:
            if s.image_png is not None:
                archive.writestr(f"signatures/{s.id}.png", s.image_png)
        for key_id, pem in pems.items():
            archive.writestr(f"signers/{key_id}.pem", pem)
    return out.getvalue()
