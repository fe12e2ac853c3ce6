"""Dashboard figures (考评 / 定期通报): what an organisation and everything below it handled in a
period, aggregated in SQL over the ``ix_cases_stats`` index.

Definitions (the dashboard page repeats them for its readers):

- *accepted*: cases with ``accepted_on`` in the period, handled (``Case.scope_path``) at or below
  the organisation, except online submissions not (yet) accepted (status submitted / declined);
- *mediated*: of those, ``outcome == mediated``; *success rate* = mediated / accepted;
- *overdue*: of those, cases still open after their deadline as of ``today``, and, separately,
  cases closed after their deadline;
- *average days to close*: mean of ``closed_on - accepted_on`` over the closed ones;
- *satisfaction*: the parties' ratings of those cases.

Speed: a case's ``scope_path`` is always the path of the centre handling it, so instead of one
prefix range (which, for a city, walks the whole index and filters dates entry by entry) the
query names every centre path under the organisation: the index then jumps straight to each
centre's date range. The tree is small (thousands of centres at most) and loaded once. The
grouping runs in SQL (GROUPING SETS on PostgreSQL, two GROUP BYs on SQLite) and the
independent queries run at the same time on separate connections.

Whole months of the period come from the monthly rollup ``case_month_stats`` (kept by
triggers, see :mod:`server.db.stats_rollup`); only the days before the first and after the
last whole month are read from the cases, and overdue-open cases (they depend on ``today``)
from the small partial index of open accepted cases.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    any_,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.types import Date, String

from server.db import Case, CaseMonthStats, Organisation, Rating
from server.db.base import subtree_range
from server.db.stats_rollup import NO_TYPE, OPEN_ACCEPTED_SQL
from server.vocabulary import CENTRE_KINDS, CaseStatus, DisputeType, Lane, OrgKind, Outcome

# Open and accepted at the window: these can be overdue while still open.
OPEN_ACCEPTED: tuple[CaseStatus, ...] = (
    CaseStatus.ACCEPTED,
    CaseStatus.REGISTERED,
    CaseStatus.ROUTED,
    CaseStatus.MEDIATING,
)
# Online submissions the window has not accepted are not cases of the centre (yet).
NOT_ACCEPTED: tuple[CaseStatus, ...] = (CaseStatus.SUBMITTED, CaseStatus.DECLINED)

# Longer periods are shown as a yearly trend instead of a monthly one.
MONTHLY_TREND_MAX_MONTHS = 24


# --- the figures (the API returns exactly this) ------------------------------------------


class OrgRef(BaseModel):
    """An organisation, as the dashboard names it."""

    code: str
    name: str
    kind: OrgKind


class Overdue(BaseModel):
    """限时办结 missed: still open past the deadline, and closed after it."""

    open: int = Field(description="still open after deadline_on, as of `as_of`")
    closed_late: int = Field(description="closed after deadline_on")


class Satisfaction(BaseModel):
    """群众评价: the parties' ratings (1 to 5) of the period's cases."""

    average: float | None = Field(description="mean score, 2 decimals; null without ratings")
    count: int


class UnitFigures(BaseModel):
    """One child organisation (everything below it included), or the organisation's own centre."""

    code: str
    name: str
    kind: OrgKind
    accepted: int
    mediated: int
    success_rate: float
    overdue_open: int
    closed_late: int
    closed: int
    average_days_to_close: float | None


class TrendPoint(BaseModel):
    """Accepted and mediated cases of one month (``2022-01``) or year (``2022``)."""

    label: str
    start: dt.date
    accepted: int
    mediated: int


class DashboardFigures(BaseModel):
    """Everything on the dashboard of one organisation and period."""

    org: OrgRef
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date = Field(description="the day overdue cases are counted on")
    accepted: int
    mediated: int
    success_rate: float = Field(description="mediated / accepted, 4 decimals (0.9924)")
    by_type: dict[DisputeType, int] = Field(description="every dispute type, 0 where none")
    unregistered: int = Field(description="accepted cases without a dispute type yet")
    by_level: dict[OrgKind, int] = Field(description="level of the handling centre")
    by_lane: dict[Lane, int]
    overdue: Overdue
    closed: int
    average_days_to_close: float | None = Field(description="1 decimal; null when none closed")
    satisfaction: Satisfaction
    own_centre: UnitFigures = Field(description="cases the organisation's own centre handles")
    by_child: list[UnitFigures] = Field(description="each child centre, with what is below it")
    trend_unit: Literal["month", "year"]
    trend: list[TrendPoint]


# --- the organisation tree ---------------------------------------------------------------


@dataclass(frozen=True)
class Centre:
    """A centre of the tree, as the aggregation needs it."""

    id: int
    code: str
    name: str
    kind: OrgKind
    path: str
    parent_id: int | None


async def centres_below(db: AsyncSession, path: str) -> list[Centre]:
    """Every centre at or below ``path``, in tree order (siblings by code)."""
    low, high = subtree_range(path)
    rows = (
        await db.execute(
            select(
                Organisation.id,
                Organisation.code,
                Organisation.name,
                Organisation.kind,
                Organisation.path,
                Organisation.parent_id,
            ).where(
                Organisation.path >= low,
                Organisation.path < high,
                Organisation.kind.in_(CENTRE_KINDS),
            )
        )
    ).all()
    centres = [Centre(r.id, r.code, r.name, OrgKind(r.kind), r.path, r.parent_id) for r in rows]
    return tree_order(centres)


def tree_order(centres: Sequence[Centre]) -> list[Centre]:
    """Depth-first, each centre followed by its children sorted by code."""
    ids = {c.id for c in centres}
    children: dict[int | None, list[Centre]] = {}
    for c in centres:
        parent = c.parent_id if c.parent_id in ids else None
        children.setdefault(parent, []).append(c)
    ordered: list[Centre] = []
    stack = sorted(children.get(None, []), key=lambda c: c.code, reverse=True)
    while stack:
        centre = stack.pop()
        ordered.append(centre)
        stack.extend(sorted(children.get(centre.id, []), key=lambda c: c.code, reverse=True))
    return ordered


# --- aggregation -------------------------------------------------------------------------


@dataclass
class Tally:
    """Running totals of a group of cases."""

    accepted: int = 0
    mediated: int = 0
    overdue_open: int = 0
    closed_late: int = 0
    closed: int = 0
    days_to_close: float = 0

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this one."""
        self.accepted += other.accepted
        self.mediated += other.mediated
        self.overdue_open += other.overdue_open
        self.closed_late += other.closed_late
        self.closed += other.closed
        self.days_to_close += other.days_to_close


@dataclass
class Aggregates:
    """What the database returns: tallies per centre path, counts per (type, lane), per day."""

    by_path: dict[str, Tally] = field(default_factory=dict)
    by_type_lane: dict[tuple[str | None, str], int] = field(default_factory=dict)
    by_day: dict[dt.date, tuple[int, int]] = field(default_factory=dict)
    rating_total: int = 0
    rating_count: int = 0


def _tally_columns(dialect: str, today: dt.date) -> list[Any]:
    if dialect == "postgresql":
        days: ColumnElement[Any] = Case.closed_on - Case.accepted_on
    else:
        days = func.julianday(Case.closed_on) - func.julianday(Case.accepted_on)
    closed = Case.status == CaseStatus.CLOSED
    return [
        func.count().label("accepted"),
        func.count().filter(Case.outcome == Outcome.MEDIATED).label("mediated"),
        func.count()
        .filter(Case.status.in_(OPEN_ACCEPTED), Case.deadline_on < today)
        .label("overdue_open"),
        func.count().filter(closed, Case.closed_on > Case.deadline_on).label("closed_late"),
        func.count().filter(closed).label("closed"),
        func.coalesce(func.sum(days).filter(closed), 0).label("days_to_close"),
    ]


def _tally(row: Any) -> Tally:
    return Tally(
        row.accepted,
        row.mediated,
        row.overdue_open,
        row.closed_late,
        row.closed,
        float(row.days_to_close),
    )


def _in_centres(dialect: str, column: Any, paths: Sequence[str]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # One array parameter rather than thousands of bound values.
        return column == any_(literal(list(paths), ARRAY(String)))  # type: ignore[no-any-return]
    return column.in_(paths)  # type: ignore[no-any-return]


def _period_cases(
    dialect: str, paths: Sequence[str], date_from: dt.date, date_to: dt.date
) -> list[ColumnElement[bool]]:
    """The WHERE clause of the period's accepted cases handled by the centres at ``paths``.

    ``paths`` come from :func:`centres_below` (a ``subtree_range`` of the organisation); a
    prefix range on ``scope_path`` as well would tempt the planner into walking it instead.
    """
    return [
        _in_centres(dialect, Case.scope_path, paths),
        Case.accepted_on >= date_from,
        Case.accepted_on <= date_to,
        Case.status.not_in(NOT_ACCEPTED),
    ]


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Split:
    """A period as whole months (read from the rollup) and the edge days around them (read
    live from the cases)."""

    months: tuple[dt.date, dt.date] | None
    edges: list[tuple[dt.date, dt.date]]


def split_period(date_from: dt.date, date_to: dt.date) -> Split:
    """The whole months inside ``date_from``..``date_to`` (first day of the first and of the
    last one) and the days before and after them."""
    first = date_from if date_from.day == 1 else _next_month(date_from)
    if (date_to + dt.timedelta(days=1)).day == 1:
        end = date_to
    else:
        end = date_to.replace(day=1) - dt.timedelta(days=1)
    if first > end:
        return Split(None, [(date_from, date_to)] if date_from <= date_to else [])
    edges = []
    if date_from < first:
        edges.append((date_from, first - dt.timedelta(days=1)))
    if end < date_to:
        edges.append((end + dt.timedelta(days=1), date_to))
    return Split((first, end.replace(day=1)), edges)


Part = Callable[[AsyncSession], Awaitable[None]]


def _add_day(into: Aggregates, day: dt.date, accepted: int, mediated: int) -> None:
    before = into.by_day.get(day, (0, 0))
    into.by_day[day] = (before[0] + accepted, before[1] + mediated)


def _add_type_lane(into: Aggregates, key: tuple[str | None, str], count: int) -> None:
    into.by_type_lane[key] = into.by_type_lane.get(key, 0) + count


def _add_path(into: Aggregates, path: str, tally: Tally) -> None:
    into.by_path.setdefault(path, Tally()).add(tally)


def live_parts(
    dialect: str,
    paths: Sequence[str],
    ranges: Sequence[tuple[dt.date, dt.date]],
    today: dt.date,
    into: Aggregates,
) -> list[Part]:
    """Independent queries that group the cases accepted in ``ranges`` (day ranges, each read
    in turn) of the centres at ``paths`` in SQL and add to ``into``: tallies per centre,
    counts per (type, lane), per day, and the ratings."""
    if not ranges:
        return []
    tallies = _tally_columns(dialect, today)

    async def grouping_sets(db: AsyncSession) -> None:
        # PostgreSQL: one pass over the index for all three groupings.
        dims = (Case.scope_path, Case.dispute_type, Case.lane, Case.accepted_on)
        for date_from, date_to in ranges:
            query = (
                select(*dims, func.grouping(*dims).label("g"), *tallies)
                .where(*_period_cases(dialect, paths, date_from, date_to))
                .group_by(
                    func.grouping_sets(
                        tuple_(Case.scope_path),
                        tuple_(Case.dispute_type, Case.lane),
                        tuple_(Case.accepted_on),
                    )
                )
            )
            for row in await db.execute(query):
                # grouping(): one bit per dimension (first = highest), set when not grouped.
                if row.g == 0b0111:
                    _add_path(into, row.scope_path, _tally(row))
                elif row.g == 0b1001:
                    _add_type_lane(into, (row.dispute_type, row.lane), row.accepted)
                else:
                    _add_day(into, row.accepted_on, row.accepted, row.mediated)

    async def by_path(db: AsyncSession) -> None:
        for date_from, date_to in ranges:
            query = (
                select(Case.scope_path, *tallies)
                .where(*_period_cases(dialect, paths, date_from, date_to))
                .group_by(Case.scope_path)
            )
            for row in await db.execute(query):
                _add_path(into, row.scope_path, _tally(row))

    async def by_day_type_lane(db: AsyncSession) -> None:
        # One sort for both groupings (a few thousand rows) instead of two sorts of the cases;
        # days stay text (SQLite's storage) until summed, to skip parsing each row's date.
        day = type_coerce(Case.accepted_on, String).label("day")
        days: dict[str, tuple[int, int]] = {}
        for date_from, date_to in ranges:
            query = (
                select(
                    day,
                    Case.dispute_type,
                    Case.lane,
                    func.count().label("n"),
                    func.count().filter(Case.outcome == Outcome.MEDIATED).label("m"),
                )
                .where(*_period_cases(dialect, paths, date_from, date_to))
                .group_by(day, Case.dispute_type, Case.lane)
            )
            for row in await db.execute(query):
                _add_type_lane(into, (row.dispute_type, row.lane), row.n)
                accepted, mediated = days.get(row.day, (0, 0))
                days[row.day] = (accepted + row.n, mediated + row.m)
        for d, (accepted, mediated) in days.items():
            _add_day(into, dt.date.fromisoformat(d), accepted, mediated)

    async def ratings(db: AsyncSession) -> None:
        for date_from, date_to in ranges:
            # A party rates a closed case, so after it was accepted: the bound on ``at`` (a
            # day early, for time zones) lets recent periods skip older ratings.
            since = dt.datetime.combine(date_from - dt.timedelta(days=1), dt.time(), dt.UTC)
            query = (
                select(func.sum(Rating.score), func.count(Rating.id))
                .join(Case, Case.id == Rating.case_id)
                .where(Rating.at >= since, *_period_cases(dialect, paths, date_from, date_to))
            )
            total, count = (await db.execute(query)).one()
            into.rating_total += int(total or 0)
            into.rating_count += count

    if dialect == "postgresql":
        return [grouping_sets, ratings]
    # SQLite has no GROUPING SETS: tallies per centre, and counts per day, type and lane.
    return [by_path, by_day_type_lane, ratings]


def rollup_parts(
    dialect: str,
    paths: Sequence[str],
    months: tuple[dt.date, dt.date] | None,
    today: dt.date,
    into: Aggregates,
) -> list[Part]:
    """Queries that add the whole months ``months`` (first days of the first and the last)
    from the rollup to ``into``, and count their cases still open past the deadline live."""
    if months is None:
        return []
    first, last = months
    end = _next_month(last) - dt.timedelta(days=1)
    r = CaseMonthStats
    where = [_in_centres(dialect, r.scope_path, paths), r.month >= first, r.month <= last]

    sums = [
        func.sum(r.accepted).label("accepted"),
        func.sum(r.mediated).label("mediated"),
        func.sum(r.closed).label("closed"),
        func.sum(r.closed_late).label("closed_late"),
        func.sum(r.days_to_close).label("days_to_close"),
        func.sum(r.rating_sum).label("rating_sum"),
        func.sum(r.rating_count).label("rating_count"),
    ]

    def add_path(row: Any) -> None:
        tally = Tally(
            accepted=int(row.accepted),
            mediated=int(row.mediated),
            closed_late=int(row.closed_late),
            closed=int(row.closed),
            days_to_close=float(row.days_to_close),
        )
        _add_path(into, row.scope_path, tally)
        into.rating_total += int(row.rating_sum)
        into.rating_count += int(row.rating_count)

    def add_month_type_lane(row: Any) -> None:
        dispute_type = None if row.dispute_type == NO_TYPE else row.dispute_type
        _add_type_lane(into, (dispute_type, row.lane), int(row.accepted))
        # The trend groups by month or year: the month's first day stands for it.
        _add_day(into, row.month, int(row.accepted), int(row.mediated))

    async def grouping_sets(db: AsyncSession) -> None:
        # PostgreSQL: one pass over the period's rows for both groupings.
        dims = (r.scope_path, r.month, r.dispute_type, r.lane)
        query = (
            select(*dims, func.grouping(r.scope_path).label("g"), *sums)
            .where(*where)
            .group_by(
                func.grouping_sets(tuple_(r.scope_path), tuple_(r.month, r.dispute_type, r.lane))
            )
        )
        for row in await db.execute(query):
            if row.g == 0:
                add_path(row)
            else:
                add_month_type_lane(row)

    async def by_path(db: AsyncSession) -> None:
        query = select(r.scope_path, *sums).where(*where).group_by(r.scope_path)
        for row in await db.execute(query):
            add_path(row)

    async def by_month_type_lane(db: AsyncSession) -> None:
        query = (
            select(
                r.month,
                r.dispute_type,
                r.lane,
                func.sum(r.accepted).label("accepted"),
                func.sum(r.mediated).label("mediated"),
            )
            .where(*where)
            .group_by(r.month, r.dispute_type, r.lane)
        )
        for row in await db.execute(query):
            add_month_type_lane(row)

    # SQLite's planner would rather walk the period in ix_cases_stats: a unary plus (a no-op
    # on any value) keeps it from using these columns to pick an index.
    if dialect == "postgresql":
        path: ColumnElement[Any] = Case.scope_path.expression
        accepted_on: ColumnElement[Any] = Case.accepted_on.expression
    else:
        path = literal_column("+cases.scope_path", String)
        accepted_on = literal_column("+cases.accepted_on", Date)

    async def overdue_open(db: AsyncSession) -> None:
        # Depends on today, so not in the rollup: ``ix_cases_open_deadline`` holds only the
        # open cases, so the closed majority of the period is never walked.
        query = (
            select(Case.scope_path, func.count().label("n"))
            .where(
                text(OPEN_ACCEPTED_SQL),
                Case.deadline_on < today,
                _in_centres(dialect, path, paths),
                accepted_on >= first,
                accepted_on <= end,
            )
            .group_by(Case.scope_path)
        )
        for row in await db.execute(query):
            _add_path(into, row.scope_path, Tally(overdue_open=int(row.n)))

    if dialect == "postgresql":
        return [grouping_sets, overdue_open]
    return [by_path, by_month_type_lane, overdue_open]


def aggregate_parts(
    dialect: str,
    paths: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    today: dt.date,
    into: Aggregates,
) -> list[Part]:
    """Independent queries that fill ``into`` with the period's figures of the centres at
    ``paths``: whole months from the rollup, the days around them from the cases."""
    split = split_period(date_from, date_to)
    return [
        *rollup_parts(dialect, paths, split.months, today, into),
        *live_parts(dialect, paths, split.edges, today, into),
    ]


async def run_concurrently(db: AsyncSession, parts: Sequence[Part]) -> None:
    """Run read-only ``parts``, the first on ``db`` and the others each on a connection of its
    own from the same engine, so that the database works on them at the same time (both
    PostgreSQL backends and SQLite readers in WAL mode run in parallel)."""
    engine = db.bind
    if not parts:
        return
    if not isinstance(engine, AsyncEngine):
        for part in parts:
            await part(db)
        return

    async def on_own_connection(part: Part) -> None:
        async with AsyncSession(engine) as session:
            await part(session)

    async with asyncio.TaskGroup() as group:
        for part in parts[1:]:
            group.create_task(on_own_connection(part))
        await parts[0](db)


# --- assembling the figures --------------------------------------------------------------


def rate(part: int, whole: int) -> float:
    """``part / whole`` to 4 decimals (0.9924), 0 when there is no whole."""
    return round(part / whole, 4) if whole else 0.0


def _mean_days(tally: Tally) -> float | None:
    return round(tally.days_to_close / tally.closed, 1) if tally.closed else None


def _unit(centre: Centre, tally: Tally) -> UnitFigures:
    return UnitFigures(
        code=centre.code,
        name=centre.name,
        kind=centre.kind,
        accepted=tally.accepted,
        mediated=tally.mediated,
        success_rate=rate(tally.mediated, tally.accepted),
        overdue_open=tally.overdue_open,
        closed_late=tally.closed_late,
        closed=tally.closed,
        average_days_to_close=_mean_days(tally),
    )


def month_starts(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """The first day of every month the period touches."""
    starts: list[dt.date] = []
    current = date_from.replace(day=1)
    while current <= date_to:
        starts.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return starts


def trend(
    by_day: dict[dt.date, tuple[int, int]], date_from: dt.date, date_to: dt.date
) -> tuple[Literal["month", "year"], list[TrendPoint]]:
    """Accepted and mediated per month (per year for long periods), zeros included."""
    months = month_starts(date_from, date_to)
    unit: Literal["month", "year"] = "month" if len(months) <= MONTHLY_TREND_MAX_MONTHS else "year"
    if unit == "month":
        starts = months
    else:
        starts = [dt.date(y, 1, 1) for y in range(date_from.year, date_to.year + 1)]
    totals = {start: [0, 0] for start in starts}
    for day, (accepted, mediated) in by_day.items():
        key = day.replace(day=1) if unit == "month" else dt.date(day.year, 1, 1)
        totals[key][0] += accepted
        totals[key][1] += mediated
    return unit, [
        TrendPoint(
            label=start.strftime("%Y-%m") if unit == "month" else str(start.year),
            start=start,
            accepted=totals[start][0],
            mediated=totals[start][1],
        )
        for start in starts
    ]


def _child_of(org_path: str, path: str) -> int | None:
    """The id of the child of ``org_path`` that ``path`` is at or below; None for itself."""
    rest = path[len(org_path) :]
    head = rest.split("/", 1)[0]
    return int(head) if head.isdigit() else None


def assemble(
    org: Centre,
    centres: Iterable[Centre],
    found: Aggregates,
    date_from: dt.date,
    date_to: dt.date,
    today: dt.date,
) -> DashboardFigures:
    """Turn the grouped rows into the dashboard's figures (a few thousand rows at most)."""
    by_path = {c.path: c for c in centres}
    children = [c for c in by_path.values() if c.parent_id == org.id]
    child_tally = {c.id: Tally() for c in children}
    own = Tally()
    total = Tally()
    by_level = {kind: 0 for kind in CENTRE_KINDS}
    for path, tally in found.by_path.items():
        total.add(tally)
        centre = by_path.get(path)
        if centre is not None:
            by_level[centre.kind] += tally.accepted
        child_id = _child_of(org.path, path)
        if child_id is None:
            own.add(tally)
        elif child_id in child_tally:
            child_tally[child_id].add(tally)
    by_type = {t: 0 for t in DisputeType}
    by_lane = {lane: 0 for lane in Lane}
    unregistered = 0
    for (dispute_type, lane), count in found.by_type_lane.items():
        if dispute_type is None:
            unregistered += count
        else:
            by_type[DisputeType(dispute_type)] += count
        by_lane[Lane(lane)] += count
    unit, points = trend(found.by_day, date_from, date_to)
    return DashboardFigures(
        org=OrgRef(code=org.code, name=org.name, kind=org.kind),
        date_from=date_from,
        date_to=date_to,
        as_of=today,
        accepted=total.accepted,
        mediated=total.mediated,
        success_rate=rate(total.mediated, total.accepted),
        by_type=by_type,
        unregistered=unregistered,
        by_level=by_level,
        by_lane=by_lane,
        overdue=Overdue(open=total.overdue_open, closed_late=total.closed_late),
        closed=total.closed,
        average_days_to_close=_mean_days(total),
        satisfaction=Satisfaction(
            average=round(found.rating_total / found.rating_count, 2)
            if found.rating_count
            else None,
            count=found.rating_count,
        ),
        own_centre=_unit(org, own),
        by_child=[_unit(c, child_tally[c.id]) for c in children],
        trend_unit=unit,
        trend=points,
    )


async def dashboard_figures(
    db: AsyncSession,
    org: Organisation,
    date_from: dt.date,
    date_to: dt.date,
    today: dt.date,
) -> DashboardFigures:
    """The dashboard of ``org`` (everything below it included) for cases accepted from
    ``date_from`` to ``date_to`` (both inclusive); overdue is counted as of ``today``."""
    centres = await centres_below(db, org.path)
    paths = [c.path for c in centres] or [org.path]
    found = Aggregates()
    dialect = db.get_bind().dialect.name
    await run_concurrently(db, aggregate_parts(dialect, paths, date_from, date_to, today, found))
    me = Centre(org.id, org.code, org.name, OrgKind(org.kind), org.path, org.parent_id)
    return assemble(me, centres, found, date_from, date_to, today)
