"""The case list: scope, filters, search and keyset pagination (fast at a million cases).

Every page is "the first ``limit`` cases after the cursor, newest first" and is found by walking
an index already in that order, so the cost follows the page size rather than the scope's size
(bench/README.md has the measurements):

- a broad scope (a city, a county: more than :data:`MAX_CENTRE_WALKS` organisations) walks every
  case newest first (``ix_cases_accepted``; open cases only, ``ix_cases_open``, when the
  filters ask for open or overdue cases) and keeps those in scope;
- a narrow one (a township, a village) walks each centre below it separately
  (``ix_cases_scope_accepted``, one equality per path) and merges the short runs, since most
  cases elsewhere would otherwise be walked past;
- a search walks one term of ``case_search_terms`` (a party's name prefix or the case number's
  digits), which carries ``accepted_at`` and so is already in list order; a whole case number
  is one unique-index lookup;
- other roles (mediators, liaisons, courts) walk their own indexed columns.

No query counts the scope. Every query still applies the whole :func:`case_scope` condition
(to the merged page, where the walks along paths or a mediator imply it), so the choice of
index can never widen what someone sees.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import TypeVarTuple

from pydantic import Field
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    TextClause,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import CENTRE_ROLES, COURT_ROLES, case_scope
from server.auth.principal import StaffPrincipal
from server.db import Case, Consultation, Organisation, Party, Summons
from server.db.base import subtree_range
from server.db.case import OPEN_CASE_SQL
from server.db.search import DIGITS, NAME, NAME_PREFIX_MAX, CaseSearchTerm
from server.errors import FieldError, InvalidInput
from server.validation import Body
from server.vocabulary import OPEN_STATUSES, CaseStatus, DisputeType, Lane, OrgKind, Role

PAGE_SIZE = 25
Ts = TypeVarTuple("Ts")

# A scope with at most this many organisations below it is walked centre by centre (one short
# walk per path); a larger one walks every case newest first and keeps those in scope.
MAX_CENTRE_WALKS = 64


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


# --- what the search box holds -------------------------------------------------------------

_FULLWIDTH = str.maketrans("（）０１２３４５６７８９", "()0123456789")
# A whole number as the registration gives it: (2026)凉综调字第0012号.
_WHOLE_NUMBER = re.compile(r"(?P<head>\([0-9]{4}\)\S*第)0*(?P<seq>[0-9]+)号")
# Part of one: 12, 0012, 第12号, 凉综调字第0012号 ...
_PART_NUMBER = re.compile(r"(?P<prefix>.*?)第?0*(?P<digits>[0-9]+)号?")
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Search:
    """A search string, read: a whole case number, part of one, or a party's name (prefix)."""

    kind: str  # "number", "digits" or "name"
    text: str
    digits: str = ""  # the sequence number without leading zeros
    number_part: str = ""  # what the number must also contain (before 第), e.g. 凉综调字
    bare: bool = False  # digits only: may also be a case's id


def read_search(q: str) -> Search:
    """How ``q`` is searched for."""
    compact = "".join(q.translate(_FULLWIDTH).split())
    whole = _WHOLE_NUMBER.fullmatch(compact)
    if whole is not None:
        # Numbers are given with at least four digits (server/workflow/numbering.py).
        return Search("number", f"{whole['head']}{int(whole['seq']):04d}号")
    bare = compact.isascii() and compact.isdigit()
    if bare or "第" in compact or compact.endswith("号"):
        part = _PART_NUMBER.fullmatch(compact)
        if part is not None:
            digits = part["digits"].lstrip("0")
            return Search("digits", compact, digits, part["prefix"], bare)
    return Search("name", q.strip())


# --- building the walks --------------------------------------------------------------------


def _after(
    at: SQLColumnExpression[dt.datetime],
    case_id: SQLColumnExpression[int],
    cursor: tuple[dt.datetime, int],
) -> ColumnElement[bool]:
    # Spelled out rather than as a row value: the plain range on the first column is what lets
    # both SQLite and PostgreSQL start the index walk at the cursor.
    when, last_id = cursor
    return and_(at <= when, or_(at < when, case_id < last_id))


def _open() -> TextClause:
    # Literally ix_cases_open's WHERE: SQLite uses a partial index only for a query that
    # repeats its condition.
    return text(OPEN_CASE_SQL)


@dataclass(frozen=True)
class _Plan:
    """What every walk of one request shares."""

    scope: ColumnElement[bool]  # who may see what, exactly as server.access says
    filters: list[ColumnElement[bool]]
    status: ColumnElement[bool] | None
    open_only: bool
    cursor: tuple[dt.datetime, int] | None
    limit: int

    def steer(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """``condition`` unchanged in meaning, but no longer usable to drive an index scan.

        For walks whose index is chosen here: SQLite has no statistics on value ranges, and
        PostgreSQL's cached generic plans do not know the values, so both would otherwise
        start from the scope (or status) index and sort a whole county's cases.
        """
        return condition.is_(true())

    def conditions(
        self, *, steer: bool, scoped: bool = True
    ) -> list[ColumnElement[bool] | TextClause]:
        """Scope (unless the walk implies it) and filters on ``cases``."""
        found: list[ColumnElement[bool] | TextClause] = list(self.filters)
        if scoped:
            found.append(self.steer(self.scope) if steer else self.scope)
        if self.status is not None:
            found.append(self.steer(self.status) if steer else self.status)
        if self.open_only:
            found.append(_open())
        return found

    def newest_first(self, stmt: Select[*Ts]) -> Select[*Ts]:
        """``stmt`` from the cursor on, newest first, one more than a page."""
        if self.cursor is not None:
            stmt = stmt.where(_after(Case.accepted_at, Case.id, self.cursor))
        return stmt.order_by(Case.accepted_at.desc(), Case.id.desc()).limit(self.limit)


def _merged(plan: _Plan, walks: list[Select[int, dt.datetime]]) -> Select[Case]:
    """One newest-first page of cases out of newest-first walks of ``(id, accepted_at)``.

    Only the page's ids are kept before whole rows are read. The scope is checked again on
    them: walks along a path or a mediator imply it and leave it out, because a redundant
    range spoils PostgreSQL's row estimates.
    """
    if len(walks) == 1:
        runs = walks[0].subquery()
    else:
        parts = [w.subquery() for w in walks]
        runs = union_all(*(select(p.c.id, p.c.accepted_at) for p in parts)).subquery()
    page = select(runs.c.id).order_by(runs.c.accepted_at.desc(), runs.c.id.desc())
    return (
        select(Case)
        .where(Case.id.in_(page.limit(plan.limit)), plan.scope)
        .order_by(Case.accepted_at.desc(), Case.id.desc())
    )


def _term_walk(plan: _Plan, kind: str, term: ColumnElement[str]) -> Select[int, dt.datetime]:
    """Cases with a search term, walked newest first along the term's rows."""
    t = CaseSearchTerm
    stmt = (
        select(Case.id, Case.accepted_at)
        .join(t, t.case_id == Case.id)
        .where(t.kind == kind, t.term == term, *plan.conditions(steer=True))
    )
    if plan.cursor is not None:
        stmt = stmt.where(_after(t.accepted_at, t.case_id, plan.cursor))
    return stmt.order_by(t.accepted_at.desc(), t.case_id.desc()).limit(plan.limit)


def _search(plan: _Plan, search: Search) -> Select[Case]:
    if search.kind == "number":
        return plan.newest_first(
            select(Case).where(Case.number == search.text, *plan.conditions(steer=False))
        )
    if search.kind == "digits":
        walk = _term_walk(plan, DIGITS, literal(search.digits))
        if search.number_part:
            walk = walk.where(Case.number.contains(search.number_part, autoescape=True))
        walks = [walk]
        if search.bare and search.digits and int(search.digits) <= _MAX_ID:
            # The case's id (in its address) finds it too.
            by_id = select(Case.id, Case.accepted_at).where(
                Case.id == int(search.digits), *plan.conditions(steer=False)
            )
            walks.append(plan.newest_first(by_id))
        return _merged(plan, walks)
    lowered = func.lower(literal(search.text))
    walk = _term_walk(plan, NAME, func.substr(lowered, 1, NAME_PREFIX_MAX))
    if len(search.text) > NAME_PREFIX_MAX:
        # The term holds the first characters only; the rest is checked on the names.
        walk = walk.where(
            exists().where(
                Party.case_id == Case.id,
                func.substr(func.lower(Party.name), 1, len(search.text)) == lowered,
            )
        )
    return _merged(plan, [walk])


def _walk(
    plan: _Plan, along: ColumnElement[bool], *within: ColumnElement[bool]
) -> Select[int, dt.datetime]:
    """Cases newest first along one indexed equality (a centre's path, a mediator ...) that
    lies in the scope, with the filters and ``within`` (the organisation asked for, if any)."""
    conditions = plan.conditions(steer=False, scoped=False)
    return plan.newest_first(select(Case.id, Case.accepted_at).where(along, *within, *conditions))


def _role_arms(who: StaffPrincipal) -> list[ColumnElement[bool]]:
    """The parts of a non-centre role's scope, each an indexed equality walked on its own.

    Only the walks: the merged page applies the whole :func:`case_scope`, so a part missing
    here would hide cases but a part too many shows nothing extra.
    """
    if who.role == Role.MEDIATOR:
        arms = [Case.mediator_id == who.staff_id]
        if who.org_kind == OrgKind.MEDIATION_ROOM:
            arms.append(Case.room_id == who.org_id)
        return arms
    if who.role == Role.DEPARTMENT_LIAISON:
        summoned = (
            select(Consultation.case_id)
            .join(Summons, Summons.consultation_id == Consultation.id)
            .where(Summons.department_id == who.org_id)
        )
        return [Case.department_id == who.org_id, Case.id.in_(summoned)]
    if who.role in COURT_ROLES:
        return [Case.court_id == who.org_id]
    return []


async def _paths_below(db: AsyncSession, path: str) -> list[str]:
    """Paths of the organisations at or below ``path``; more than MAX_CENTRE_WALKS: cut off."""
    low, high = subtree_range(path)
    rows = await db.execute(
        select(Organisation.path)
        .where(Organisation.path >= low, Organisation.path < high)
        .limit(MAX_CENTRE_WALKS + 1)
    )
    return list(rows.scalars())


async def list_cases(
    db: AsyncSession, who: StaffPrincipal, query: CaseListQuery, today: dt.date
) -> CaseListPage:
    """A page of the cases ``who`` may see that match ``query``, newest first."""
    scope = case_scope(who)
    within: list[ColumnElement[bool]] = []
    centre_path = who.org_path if who.role in CENTRE_ROLES else None
    if query.org:
        org = (
            await db.execute(select(Organisation).where(Organisation.code == query.org))
        ).scalar_one_or_none()
        if org is None:
            raise InvalidInput(fields={"org": FieldError("field.unknown_org")})
        low, high = subtree_range(org.path)
        within = [Case.scope_path >= low, Case.scope_path < high]
        scope = and_(scope, *within)
        if centre_path is not None:
            if org.path.startswith(centre_path):
                centre_path = org.path
            elif not centre_path.startswith(org.path):
                return CaseListPage([], None)  # nothing of theirs is there

    filters: list[ColumnElement[bool]] = []
    if query.dispute_type is not None:
        filters.append(Case.dispute_type == query.dispute_type)
    if query.lane is not None:
        filters.append(Case.lane == query.lane)
    if query.overdue:
        filters.append(Case.deadline_on < today)
    plan = _Plan(
        scope=scope,
        filters=filters,
        status=Case.status == query.status if query.status is not None else None,
        open_only=query.open_only or query.overdue or query.status in OPEN_STATUSES,
        cursor=decode_cursor(query.cursor) if query.cursor else None,
        limit=query.limit + 1,
    )

    stmt: Select[Case]
    if query.q:
        stmt = _search(plan, read_search(query.q))
    elif centre_path is not None:
        paths = await _paths_below(db, centre_path)
        if len(paths) <= MAX_CENTRE_WALKS:
            stmt = _merged(plan, [_walk(plan, Case.scope_path == path) for path in paths])
        else:
            stmt = plan.newest_first(select(Case).where(*plan.conditions(steer=True)))
    elif arms := _role_arms(who):
        stmt = _merged(plan, [_walk(plan, arm, *within) for arm in arms])
    else:
        stmt = plan.newest_first(select(Case).where(*plan.conditions(steer=False)))

    rows = list((await db.execute(stmt)).scalars())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return CaseListPage(rows, encode_cursor(rows[-1]) if more and rows else None)
