"""Document versions: a new version of a case's document supersedes every older one of the
same kind, in the same transaction as it is added."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Document
from server.documents.render import content_sha256
from server.documents.vocabulary import DocumentKind, DocumentStatus


async def latest(db: AsyncSession, case_id: int, kind: DocumentKind) -> Document | None:
    """The newest version of a case's document of ``kind``, if any."""
    return (
        await db.execute(
            select(Document)
            .where(Document.case_id == case_id, Document.kind == kind)
            .order_by(Document.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def add_version(
    db: AsyncSession,
    *,
    case_id: int,
    kind: DocumentKind,
    status: DocumentStatus,
    template: str,
    data: dict[str, Any],
    content: str,
    created_by: int | None,
    hearing_id: int | None = None,
) -> Document:
    """Add the next version and mark every earlier version SUPERSEDED. Flushes; the caller's
    transaction commits (or rolls back both together). Two writers racing for the same
    version number collide on ``uq_documents_version`` and one of them fails whole."""
    last = (
        await db.execute(
            select(func.max(Document.version)).where(
                Document.case_id == case_id, Document.kind == kind
            )
        )
    ).scalar_one()
    await db.execute(
        update(Document)
        .where(
            Document.case_id == case_id,
            Document.kind == kind,
            Document.status != DocumentStatus.SUPERSEDED,
        )
        .values(status=DocumentStatus.SUPERSEDED)
        .execution_options(synchronize_session="fetch")
    )
    document = Document(
        case_id=case_id,
        kind=kind,
        version=(last or 0) + 1,
        status=status,
        template=template[:100],
        data=json.dumps(data, ensure_ascii=False, sort_keys=True, default=str),
        content=content,
        sha256=content_sha256(content),
        hearing_id=hearing_id,
        created_by_id=created_by,
    )
    db.add(document)
    await db.flush()
    return document
