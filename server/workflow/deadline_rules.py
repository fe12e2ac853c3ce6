"""Changing the time limits (限时办结) a centre applies, per lane and dispute type."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import require_role
from server.auth.principal import StaffPrincipal
from server.db import DeadlineRule
from server.errors import FieldError, InvalidInput
from server.vocabulary import DisputeType, Lane, Role

MAX_DAYS = 365


async def rules(db: AsyncSession) -> list[DeadlineRule]:
    """Every rule, lane first, the lane-wide rule before the per-type ones."""
    rows = await db.execute(
        select(DeadlineRule).order_by(DeadlineRule.lane, DeadlineRule.dispute_type)
    )
    return list(rows.scalars())


async def set_rule(
    db: AsyncSession,
    who: StaffPrincipal,
    lane: Lane,
    dispute_type: DisputeType | None,
    days: int | None,
) -> None:
    """Set (or with ``days`` None, remove) the rule for a lane and type.

    The lane-wide rule (no type) can be changed but not removed. New limits apply to cases
    accepted or re-laned from now on; existing deadlines are not moved silently.
    """
    require_role(who, Role.ADMINISTRATOR)
    type_key = dispute_type.value if dispute_type else ""
    if days is None:
        if not type_key:
            raise InvalidInput(fields={"days": FieldError("field.required")})
        await db.execute(
            delete(DeadlineRule).where(
                DeadlineRule.lane == lane, DeadlineRule.dispute_type == type_key
            )
        )
        return
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(fields={"days": FieldError("field.out_of_range")})
    existing = (
        await db.execute(
            select(DeadlineRule).where(
                DeadlineRule.lane == lane, DeadlineRule.dispute_type == type_key
            )
        )
    ).scalar_one_or_none()
    if existing is None:
        db.add(DeadlineRule(lane=lane, dispute_type=type_key, days=days))
    else:
        existing.days = days
