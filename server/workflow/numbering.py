"""Case numbers in the usual form, e.g. (2026)凉综调字第0001号."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import CaseNumberCounter, Organisation


async def numbering_org(db: AsyncSession, centre: Organisation) -> Organisation:
    """The nearest organisation at or above ``centre`` that has an abbreviation."""
    org: Organisation | None = centre
    while org is not None:
        if org.abbreviation:
            return org
        org = await db.get(Organisation, org.parent_id) if org.parent_id else None
    return centre


async def next_case_number(db: AsyncSession, centre: Organisation, year: int) -> str:
    """Take the next number for ``centre``'s numbering organisation in ``year``.

    The counter row is incremented with a single UPDATE, which holds a row lock until the
    transaction commits, so two clerks registering at once never get the same number; a
    registration that fails rolls its number back, so there are no gaps.
    """
    org = await numbering_org(db, centre)
    # The year's first number: create the counter unless another transaction has. A plain
    # INSERT made concurrent first registrations fail on the primary key (500).
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert(CaseNumberCounter)
        .values(org_id=org.id, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["org_id", "year"])
    )
    bumped = await db.execute(
        update(CaseNumberCounter)
        .where(CaseNumberCounter.org_id == org.id, CaseNumberCounter.year == year)
        .values(last=CaseNumberCounter.last + 1)
        .returning(CaseNumberCounter.last)
    )
    seq = bumped.scalar_one()
    abbreviation = org.abbreviation or org.name[:1]
    return f"({year}){abbreviation}综调字第{seq:04d}号"


async def current_counter(db: AsyncSession, org_id: int, year: int) -> int:
    """The last number given (0 if none) — for reports and tests."""
    value = (
        await db.execute(
            select(CaseNumberCounter.last).where(
                CaseNumberCounter.org_id == org_id, CaseNumberCounter.year == year
            )
        )
    ).scalar_one_or_none()
    return int(value or 0)
