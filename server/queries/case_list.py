"""The case list: scope, filters, search and keyset pagination (fast at a million cases)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from pydantic import Field
from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_scope
from server.auth.principal import StaffPrincipal
from server.db import Case, Organisation, Party
from server.db.base import subtree_range
from server.errors import FieldError, InvalidInput
from server.validation import Body
from server.vocabulary import OPEN_STATUSES, CaseStatus, DisputeType, Lane

PAGE_SIZE = 25


class CaseListQuery(Body):
    """Filters of the case list (query string of ``GET /api/cases`` and of the list page)."""

    q: str = Field(default="", max_length=100, description="case number or party name")
    status: CaseStatus | None = None
    dispute_type: DisputeType | None = None
    lane: Lane | None = None
    overdue: bool = False
    open_only: bool = False
    org: str | None = Field(default=None, max_length=32, description="centre code")
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=PAGE_SIZE, ge=1, le=100)


@dataclass(frozen=True)
class CaseListPage:
    """One page of cases and the cursor of the next page."""

    cases: list[Case]
    next_cursor: str | None


def encode_cursor(case: Case) -> str:
    """Opaque position after ``case`` in the newest-first order."""
    raw = f"{case.accepted_at.isoformat()}|{case.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The ``(accepted_at, id)`` a cursor points after; a bad cursor is a field error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, _, case_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, int(case_id)
    except ValueError:
        raise InvalidInput(fields={"cursor": FieldError("field.invalid")}) from None


def search_clause(q: str) -> object:
    """Match a case number (whole or its distinctive part) or a party's name (or its start)."""
    upper = q + "\uffff"
    name_match = exists().where(Party.case_id == Case.id, Party.name >= q, Party.name < upper)
    if "号" in q or q.startswith("("):
        return or_(Case.number == q, name_match)
    if q.isdigit():
        return or_(Case.number.like(f"%第{int(q):04d}号"), Case.id == int(q), name_match)
    return name_match


async def list_cases(
    db: AsyncSession, who: StaffPrincipal, query: CaseListQuery, today: dt.date
) -> CaseListPage:
    """A page of the cases ``who`` may see that match ``query``, newest first."""
    stmt: Select[Case] = select(Case).where(case_scope(who))
    if query.org:
        org = (
            await db.execute(select(Organisation).where(Organisation.code == query.org))
        ).scalar_one_or_none()
        if org is None:
            raise InvalidInput(fields={"org": FieldError("field.unknown_org")})
        low, high = subtree_range(org.path)
        stmt = stmt.where(Case.scope_path >= low, Case.scope_path < high)
    if query.q:
        stmt = stmt.where(search_clause(query.q))  # type: ignore[arg-type]
    if query.status is not None:
        stmt = stmt.where(Case.status == query.status)
    if query.dispute_type is not None:
        stmt = stmt.where(Case.dispute_type == query.dispute_type)
    if query.lane is not None:
        stmt = stmt.where(Case.lane == query.lane)
    if query.open_only or query.overdue:
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    if query.overdue:
        stmt = stmt.where(Case.deadline_on < today)
    if query.cursor:
        at, case_id = decode_cursor(query.cursor)
        stmt = stmt.where(
            or_(Case.accepted_at < at, and_(Case.accepted_at == at, Case.id < case_id))
        )
    stmt = stmt.order_by(Case.accepted_at.desc(), Case.id.desc()).limit(query.limit + 1)
    rows = list((await db.execute(stmt)).scalars())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return CaseListPage(rows, encode_cursor(rows[-1]) if more and rows else None)
