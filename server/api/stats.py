"""``GET /api/stats``: the dashboard's figures as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import CENTRE_ROLES, org_in_scope, require_role
from server.api.routes import api
from server.auth.principal import StaffPrincipal
from server.context import ctx, staff
from server.db import Organisation
from server.errors import FieldError, InvalidInput
from server.queries.stats import DashboardFigures, dashboard_figures
from server.validation import Body

TAG = "stats"

# Longest period one dashboard covers (a trend of 20 yearly bars at most).
MAX_PERIOD_YEARS = 20


class StatsQuery(Body):
    """Which organisation and period (``GET /api/stats`` query; the dashboard page's form)."""

    org: str | None = Field(
        default=None, max_length=32, description="organisation code; default the caller's own"
    )
    date_from: dt.date | None = Field(
        default=None, alias="from", description="first day (YYYY-MM-DD); default 1 January"
    )
    date_to: dt.date | None = Field(
        default=None, alias="to", description="last day, inclusive (YYYY-MM-DD); default today"
    )

    @field_validator("org", "date_from", "date_to", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        # An empty form field means "the default", not "invalid".
        return None if value == "" else value

    @field_validator("date_to")
    @classmethod
    def _not_before_from(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError("field.period_reversed")
        return value


def resolve_period(query: StatsQuery, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period asked for, defaults filled in: this year up to today."""
    date_to = query.date_to or today
    date_from = query.date_from or date_to.replace(month=1, day=1)
    if date_from > date_to:
        # Only the "to" default can cause this: a start after today.
        raise InvalidInput(fields={"from": FieldError("field.period_reversed")})
    if date_to.year - date_from.year >= MAX_PERIOD_YEARS:
        raise InvalidInput(
            fields={"from": FieldError("field.period_too_long", {"years": MAX_PERIOD_YEARS})}
        )
    return date_from, date_to


async def requested_org(db: AsyncSession, who: StaffPrincipal, code: str | None) -> Organisation:
    """The organisation asked for (default the caller's): at or below the caller's, and a
    centre; anything else out of scope is reported exactly like an unknown code."""
    org = await org_in_scope(db, who, code or who.org_code)
    if not org.is_centre:
        raise InvalidInput(fields={"org": FieldError("field.not_a_centre")})
    return org


@api.operation(
    "GET",
    "/api/stats",
    summary="Dashboard figures of an organisation and period (考评)",
    tag=TAG,
    query=StatsQuery,
    response=DashboardFigures,
    errors=(403,),
)
async def stats(request: web.Request, query: StatsQuery) -> DashboardFigures:
    """Accepted, mediated, success rate, by type, level and lane, overdue, days to close,
    satisfaction and each child centre, for cases accepted in the period (both days
    inclusive) under the organisation. Centre staff only."""
    context = ctx(request)
    who = staff(request)
    require_role(who, *CENTRE_ROLES)
    org = await requested_org(context.db, who, query.org)
    date_from, date_to = resolve_period(query, context.today)
    return await dashboard_figures(context.db, org, date_from, date_to, context.today)
