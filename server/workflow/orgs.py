"""Finding organisations: a person's centre, a centre by code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Organisation
from server.errors import FieldError, InvalidInput, NotFound
from server.vocabulary import CENTRE_KINDS, OrgKind


async def nearest_centre(db: AsyncSession, org_id: int) -> Organisation:
    """The organisation itself if it is a centre, else its nearest centre ancestor."""
    org = await db.get(Organisation, org_id)
    while org is not None and org.kind not in CENTRE_KINDS:
        org = await db.get(Organisation, org.parent_id) if org.parent_id else None
    if org is None:
        raise NotFound()
    return org


async def org_by_code(db: AsyncSession, code: str) -> Organisation | None:
    """An organisation by its code, or ``None``."""
    return (
        await db.execute(select(Organisation).where(Organisation.code == code))
    ).scalar_one_or_none()


async def require_kind(
    db: AsyncSession, code: str, kinds: tuple[OrgKind, ...], field: str
) -> Organisation:
    """The organisation with ``code`` if it is of one of ``kinds``; else a field error."""
    org = await org_by_code(db, code)
    if org is None or org.kind not in kinds:
        raise InvalidInput(fields={field: FieldError("field.unknown_org")})
    return org
