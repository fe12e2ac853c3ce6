"""限时办结: the time limit a case gets from its lane and type."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, DeadlineRule
from server.vocabulary import Lane

FALLBACK_DAYS = {Lane.FAST: 3, Lane.NORMAL: 30}


async def days_allowed(db: AsyncSession, lane: Lane, dispute_type: str | None) -> int:
    """Days from acceptance to closure: a rule for the type wins over the lane's rule."""
    rules = {
        rule.dispute_type: rule.days
        for rule in (
            await db.execute(select(DeadlineRule).where(DeadlineRule.lane == lane))
        ).scalars()
    }
    if dispute_type and dispute_type in rules:
        return rules[dispute_type]
    return rules.get("", FALLBACK_DAYS[lane])


async def apply_deadline(db: AsyncSession, case: Case) -> None:
    """Set ``case.deadline_on`` from its acceptance date, lane and type."""
    days = await days_allowed(db, case.lane, case.dispute_type)
    case.deadline_on = case.accepted_on + dt.timedelta(days=days)
