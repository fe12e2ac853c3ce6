"""The case list on both databases: search (whole number, its digits, a name, a name's start),
filters, scope, and keyset pagination that returns every case once, in order, across pages."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import case_scope
from server.auth.principal import StaffPrincipal
from server.auth.sessions import staff_principal
from server.db import Case, Party, Staff
from server.db.base import subtree_range
from server.db.case import OPEN_CASE_SQL
from server.queries import case_list
from server.queries.case_list import CaseListQuery, list_cases, read_search
from server.schemas.cases import IntakeRequest, PartyIn
from server.vocabulary import OPEN_STATUSES, CaseStatus, DisputeType, Lane
from server.workflow.intake import intake
from server.workflow.orgs import org_by_code
from tests.server.test_workflow import Client, act_as, call
from tests.world import World

TODAY = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


async def who(db: AsyncSession, username: str) -> StaffPrincipal:
    """The principal of a world account, as a session would give it."""
    staff = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
    return staff_principal(staff)


async def new_case(
    db: AsyncSession,
    username: str,
    *names: str,
    centre: str | None = None,
    dispute_type: DisputeType | None = DisputeType.NEIGHBOUR,
    lane: Lane = Lane.NORMAL,
    at: dt.datetime | None = None,
) -> Case:
    """A case taken in (and registered, with a type) by ``username``; first name applies."""
    parties = [PartyIn(role="applicant", name=names[0])]
    parties += [PartyIn(role="respondent", name=name) for name in names[1:]]
    request = IntakeRequest(
        channel="walk_in",
        centre_code=centre,
        title="纠纷",
        dispute_type=dispute_type,
        lane=lane,
        parties=parties,
    )
    case, _ = await intake(db, await who(db, username), request, TODAY)
    if at is not None:
        case.accepted_at = at
    await db.flush()
    return case


async def ids(db: AsyncSession, username: str, **query: Any) -> list[int]:
    """Ids of the first page ``username`` gets for ``query``."""
    page = await list_cases(db, await who(db, username), CaseListQuery(**query), TODAY)
    return [case.id for case in page.cases]


async def every_page(db: AsyncSession, username: str, **query: Any) -> list[int]:
    """Ids of all pages, following the cursors."""
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page = await list_cases(
            db, await who(db, username), CaseListQuery(**query, cursor=cursor), TODAY
        )
        assert len(page.cases) <= query.get("limit", 25)
        seen += [case.id for case in page.cases]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination does not end")


@pytest.fixture(params=["centre by centre", "every case"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two ways a centre's scope is walked: the small world has few centres, so the walk
    of every case newest first (a city's or a county's at scale) is forced for the second."""
    if request.param == "every case":
        monkeypatch.setattr(case_list, "MAX_CENTRE_WALKS", 0)
    return str(request.param)


def newest_first(*cases: Case) -> list[int]:
    return [c.id for c in sorted(cases, key=lambda c: (c.accepted_at, c.id), reverse=True)]


async def test_search_by_number_digits_name_and_surname_stays_in_scope(
    db: AsyncSession, world: World
) -> None:
    a = await new_case(db, "lz_clerk", "张伟", "李四", at=T0)
    b = await new_case(db, "lz_clerk", "张三丰", "王五", at=T0 + dt.timedelta(hours=1))
    c = await new_case(db, "lz_clerk", "欧阳娜娜", "武威市鑫源建筑工程有限公司", at=T0)
    d = await new_case(db, "mq_clerk", "张伟", "赵六", at=T0 + dt.timedelta(hours=2))
    unregistered = await new_case(db, "lz_clerk", "Smith", dispute_type=None)
    await db.commit()
    assert a.number == "(2026)凉综调字第0001号" and d.number == "(2026)民综调字第0001号"

    assert await ids(db, "lz_clerk", q=a.number) == [a.id]
    assert await ids(db, "lz_clerk", q="（2026）凉综调字第0001号") == [a.id]  # full-width
    assert await ids(db, "lz_clerk", q="(2026)凉综调字第1号") == [a.id]
    assert await ids(db, "lz_clerk", q=d.number) == []  # another county's case
    for digits in ("1", "0001", "第1号", "第0001号"):
        assert await ids(db, "lz_clerk", q=digits) == [a.id], digits
        assert await ids(db, "admin", q=digits) == [d.id, a.id], digits
    assert await ids(db, "admin", q="民综调字第1号") == [d.id]
    assert await ids(db, "lz_clerk", q="2") == [b.id]
    assert await ids(db, "lz_clerk", q=str(unregistered.id)) == [unregistered.id]

    assert await ids(db, "lz_clerk", q="张伟") == [a.id]
    assert await ids(db, "admin", q="张伟") == [d.id, a.id]
    assert await ids(db, "lz_clerk", q="张") == [b.id, a.id]
    assert await ids(db, "admin", q="张") == [d.id, b.id, a.id]
    assert await ids(db, "lz_clerk", q="欧阳") == [c.id]
    assert await ids(db, "lz_clerk", q="王五") == [b.id]  # respondents too
    assert await ids(db, "lz_clerk", q="武威市鑫源建筑") == [c.id]  # longer than a term
    assert await ids(db, "lz_clerk", q="武威市鑫源建材") == []
    assert await ids(db, "lz_clerk", q="smith") == [unregistered.id]
    assert await ids(db, "lz_clerk", q="赵") == []
    assert await ids(db, "village_clerk", q="张") == []


async def test_search_follows_names_and_numbers_as_they_change(
    db: AsyncSession, world: World
) -> None:
    case = await new_case(db, "lz_clerk", "刘备", dispute_type=None)
    await db.commit()
    assert await ids(db, "lz_clerk", q="刘") == [case.id]
    assert await ids(db, "lz_clerk", q="1") == [case.id]  # its id: it has no number yet

    party = (await db.execute(select(Party).where(Party.case_id == case.id))).scalar_one()
    party.name = "关羽"
    db.add(Party(case_id=case.id, role="respondent", name="曹操"))
    case.number = "(2026)凉综调字第0042号"
    case.accepted_at = T0
    await db.commit()
    assert await ids(db, "lz_clerk", q="刘") == []
    assert await ids(db, "lz_clerk", q="关羽") == [case.id]
    assert await ids(db, "lz_clerk", q="曹") == [case.id]
    assert await ids(db, "lz_clerk", q="42") == [case.id]

    later = await new_case(db, "lz_clerk", "关平", at=T0 + dt.timedelta(minutes=1))
    await db.commit()
    # The search walks terms in the cases' (changed) acceptance order.
    assert await ids(db, "lz_clerk", q="关") == [later.id, case.id]


async def test_filters(db: AsyncSession, world: World, walk: str) -> None:
    late = await new_case(db, "lz_clerk", "甲", dispute_type=DisputeType.LABOUR, at=T0)
    late.deadline_on = TODAY - dt.timedelta(days=1)
    fast = await new_case(db, "lz_clerk", "乙", lane=Lane.FAST, at=T0 + dt.timedelta(hours=1))
    done = await new_case(db, "lz_clerk", "丙", at=T0 + dt.timedelta(hours=2))
    done.status = CaseStatus.CLOSED
    done.deadline_on = TODAY - dt.timedelta(days=5)
    township = await new_case(db, "lz_clerk", "丁", centre="620602001", at=T0)
    minqin = await new_case(db, "mq_clerk", "戊", dispute_type=DisputeType.LABOUR, at=T0)
    minqin.deadline_on = TODAY - dt.timedelta(days=1)
    await db.commit()

    assert await ids(db, "lz_clerk", overdue=True) == [late.id]
    assert await ids(db, "admin", overdue=True) == newest_first(late, minqin)
    assert await ids(db, "lz_clerk", status="closed") == [done.id]
    assert await ids(db, "lz_clerk", status="registered") == newest_first(late, fast, township)
    assert await ids(db, "lz_clerk", open_only=True) == newest_first(late, fast, township)
    assert await ids(db, "lz_clerk", dispute_type="labour") == [late.id]
    assert await ids(db, "lz_clerk", lane="fast") == [fast.id]
    assert await ids(db, "lz_clerk", org="620602001") == [township.id]
    assert await ids(db, "lz_clerk", org="620621") == []  # not theirs to see
    assert await ids(db, "admin", org="620621", dispute_type="labour") == [minqin.id]
    assert await ids(db, "lz_clerk", q="甲", overdue=True) == [late.id]
    assert await ids(db, "lz_clerk", q="丙", open_only=True) == []


@pytest.mark.parametrize(
    ("username", "query"),
    [
        ("admin", {}),  # the city: every case, walked newest first
        ("lz_clerk", {}),  # a county
        ("lz_clerk", {"org": "620602001"}),  # a township and its village, centre by centre
        ("village_clerk", {}),
        ("laowang", {}),  # a mediator: their own cases and their room's
        ("admin", {"q": "张"}),  # along a search term
        ("admin", {"open_only": True}),
    ],
)
async def test_pages_return_every_case_once_in_order_even_with_equal_times(
    db: AsyncSession, world: World, walk: str, username: str, query: dict[str, Any]
) -> None:
    laowang = (await who(db, "laowang")).staff_id
    cases = []
    # Three cases accepted at the same instant at each level, and some at other times.
    for n, (clerk, centre) in enumerate(
        [
            ("lz_clerk", None),
            ("lz_clerk", "620602001"),
            ("village_clerk", None),
            ("mq_clerk", None),
            ("admin", None),
        ]
    ):
        for k in range(3):
            at = T0 if k < 2 else T0 + dt.timedelta(minutes=n)
            case = await new_case(db, clerk, f"张{n}{k}", centre=centre, at=at)
            if k == 1:
                case.mediator_id = laowang
            elif k == 2:
                case.room_id = world.orgs["620602-R01"].id  # laowang's room
            cases.append(case)
    await db.commit()

    page_size = 2
    seen = await every_page(db, username, limit=page_size, **query)
    assert len(seen) > page_size  # really several pages
    assert seen == await reference(db, username, **query)


async def reference(db: AsyncSession, username: str, **query: Any) -> list[int]:
    """What the list must return, by the plainest query there is."""
    stmt = select(Case.id).where(case_scope(await who(db, username)))
    if "org" in query:
        org = await org_by_code(db, query["org"])
        assert org is not None
        low, high = subtree_range(org.path)
        stmt = stmt.where(Case.scope_path >= low, Case.scope_path < high)
    if query.get("open_only"):
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    if "q" in query:
        stmt = stmt.where(Case.parties.any(Party.name.startswith(query["q"])))
    rows = await db.execute(stmt.order_by(Case.accepted_at.desc(), Case.id.desc()))
    return list(rows.scalars())


async def test_tampered_cursor_is_refused(client: Client, world: World) -> None:  # type: ignore[type-arg]
    csrf = await act_as(client, "lz_clerk")
    naive = base64.urlsafe_b64encode(b"2026-03-02T02:00:00|7").decode().rstrip("=")
    for cursor in ("garbage!", "Zm9vfGJhcg", naive, "x" * 200):
        status, body = await call(client, "GET", f"/api/cases?cursor={cursor}", csrf)
        assert status == 422, (cursor, body)
        assert "cursor" in body["error"]["fields"]
    status, body = await call(client, "GET", "/api/cases?limit=1", csrf)
    assert status == 200 and body["items"] == [] and body["next_cursor"] is None


def test_reading_the_search_box() -> None:
    assert read_search("(2026)凉综调字第0012号").kind == "number"
    assert read_search(" 0012 ").digits == read_search("12").digits == "12"
    assert read_search("12").bare and not read_search("第12号").bare
    assert read_search("凉综调字第12号").number_part == "凉综调字"
    assert read_search("张三").kind == "name"
    assert read_search("１２").digits == "12"


def test_open_statuses_match_the_partial_index() -> None:
    # The list filters with OPEN_CASE_SQL literally; it must name exactly the open statuses.
    listed = OPEN_CASE_SQL.split("(", 1)[1].rstrip(")").replace("'", "").split(", ")
    assert listed == [s.value for s in OPEN_STATUSES]
