"""Appending to a case's timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, CaseEvent


async def record(
    db: AsyncSession,
    case: Case,
    kind: str,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    **detail: Any,
) -> CaseEvent:
    """Append one event to ``case``'s timeline (never edited or deleted afterwards)."""
    if case.id is None:
        await db.flush()
    event = CaseEvent(
        case_id=case.id, kind=kind, actor_id=actor_id, actor_label=actor_label, detail=detail
    )
    db.add(event)
    return event


async def events(db: AsyncSession, case_id: int) -> list[CaseEvent]:
    """The whole timeline of a case, oldest first."""
    rows = await db.execute(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    )
    return list(rows.scalars())
