"""The case workflow end to end through the JSON API, on both databases: intake from every
channel, registration and numbering, routing, mediation, supervision, joint consultation,
closure, feedback, follow-up, ratings, online submissions, and the append-only timeline.

The helpers at the top are shared by the access and bad-input tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from yarl import URL

from server.appkeys import SESSIONMAKER
from server.auth.sessions import SESSION_COOKIE, open_session
from server.db import Staff
from server.settings import Settings
from server.validation import mask_id_number
from server.vocabulary import Channel
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]

APPLICANT_ID = id_number("620602", "19800202", "011")
RESPONDENT_ID = id_number("620602", "19750505", "022")
AGENT_ID = id_number("620621", "19880808", "033")


# Argon2 makes each login take a noticeable fraction of a second. Logging in is tested in
# test_auth.py; elsewhere each account gets a session opened the way login opens one, and the
# client switches between them as separate browsers would.
_SESSIONS: weakref.WeakKeyDictionary[Client, dict[str, tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


async def act_as(client: Client, username: str) -> str:
    """Make ``username``'s session the client's current one; returns its CSRF token."""
    sessions = _SESSIONS.setdefault(client, {})
    if username not in sessions:
        async with client.app[SESSIONMAKER]() as db:
            staff_id = (
                await db.execute(select(Staff.id).where(Staff.username == username))
            ).scalar_one()
            sessions[username] = await open_session(db, max_age_s=3600, staff_id=staff_id)
            await db.commit()
    token, csrf = sessions[username]
    client.session.cookie_jar.update_cookies(
        {SESSION_COOKIE: token}, URL(str(client.make_url("/")))
    )
    return csrf


async def call(
    client: Client,
    method: str,
    path: str,
    csrf: str | None = None,
    body: Any = None,
    **headers: str,
) -> tuple[int, Any]:
    """One API call; returns the status and the decoded JSON body (``None`` if empty)."""
    sent = dict(headers)
    if csrf is not None:
        sent["X-CSRF-Token"] = csrf
    kwargs: dict[str, Any] = {"headers": sent}
    if body is not None:
        kwargs["json"] = body
    response = await client.request(method, path, **kwargs)
    raw = await response.text()
    return response.status, (await response.json() if raw else None)


def dispute(**overrides: Any) -> dict[str, Any]:
    """An intake body: applicant, respondent, and an agent for the respondent."""
    body: dict[str, Any] = {
        "channel": "walk_in",
        "title": "邻里漏水纠纷",
        "facts": "楼上卫生间漏水，楼下天花板受损。",
        "claims": "赔偿维修费用 3000 元。",
        "dispute_type": "neighbour",
        "parties": [
            {
                "role": "applicant",
                "name": "张三",
                "id_number": APPLICANT_ID,
                "phone": "13800001111",
            },
            {"role": "respondent", "name": "李四", "id_number": RESPONDENT_ID},
            {"role": "agent", "name": "王律师", "id_number": AGENT_ID, "represents": 1},
        ],
    }
    body.update(overrides)
    return body


async def take_in(client: Client, csrf: str, **overrides: Any) -> dict[str, Any]:
    """Intake a dispute and return the case as the API shows it."""
    status, body = await call(client, "POST", "/api/cases", csrf, dispute(**overrides))
    assert status == 201, body
    return dict(body["case"])


async def scalar(db: AsyncSession, sql: str, **params: Any) -> Any:
    """One value from the database, as committed by the app (ends the read snapshot)."""
    value = (await db.execute(text(sql), params)).scalar()
    await db.commit()
    return value


async def execute(db: AsyncSession, sql: str, **params: Any) -> None:
    """Change data behind the app's back (arranging a test), committed."""
    await db.execute(text(sql), params)
    await db.commit()


async def timeline_kinds(client: Client, case_id: int) -> list[str]:
    """The kinds of a case's timeline entries, oldest first."""
    status, events = await call(client, "GET", f"/api/cases/{case_id}/timeline")
    assert status == 200, events
    return [e["kind"] for e in events]


def year_of(settings: Settings) -> int:
    """This year on the centres' calendar."""
    return settings.today().year


# --- intake ---------------------------------------------------------------------------------


async def test_intake_from_every_channel_records_parties_and_first_receiver(
    client: Client, world: World
) -> None:
    csrf = await login(client, "lz_clerk")  # the real login, once
    for channel in (c.value for c in Channel):
        status, body = await call(client, "POST", "/api/cases", csrf, dispute(channel=channel))
        assert status == 201, body
        case = body["case"]
        assert case["channel"] == channel
        assert case["status"] == "registered"
        assert case["centre_code"] == "620602"
        assert case["first_receiver_id"] == world.staff["lz_clerk"].id
        roles = {p["role"]: p for p in case["parties"]}
        assert set(roles) == {"applicant", "respondent", "agent"}
        assert roles["agent"]["represents_id"] == roles["respondent"]["id"]
        assert roles["applicant"]["represents_id"] is None
        assert roles["applicant"]["id_number_masked"] == mask_id_number(APPLICANT_ID)
        assert roles["applicant"]["id_number_masked"].startswith("620")
        assert roles["applicant"]["id_number_masked"].endswith(APPLICANT_ID[-4:])
        assert roles["applicant"]["phone_masked"] == "138****1111"
        # Each party gets a personal link, shown once.
        assert sorted(body["party_links"]) == sorted(str(p["id"]) for p in case["parties"])
        assert all("/p/" in link for link in body["party_links"].values())
        status, events = await call(client, "GET", f"/api/cases/{case['id']}/timeline")
        accepted = events[0]
        assert accepted["kind"] == "accepted"
        assert accepted["detail"]["channel"] == channel
        assert accepted["detail"]["first_receiver"] == "lz_clerk"
        assert accepted["actor_id"] == world.staff["lz_clerk"].id
    status, listed = await call(client, "GET", "/api/cases")
    assert sorted(c["channel"] for c in listed["items"]) == sorted(c.value for c in Channel)


async def test_id_numbers_never_appear_in_full_in_any_response(
    client: Client, world: World
) -> None:
    csrf = await act_as(client, "lz_clerk")
    response = await client.post("/api/cases", json=dispute(), headers={"X-CSRF-Token": csrf})
    texts = [await response.text()]
    case_id = (await response.json())["case"]["id"]
    for path in (
        f"/api/cases/{case_id}",
        f"/api/cases/{case_id}/timeline",
        "/api/cases",
        "/api/cases?q=张三",
    ):
        got = await client.get(path)
        assert got.status == 200
        texts.append(await got.text())
    for full in (APPLICANT_ID, RESPONDENT_ID, AGENT_ID):
        for body in texts:
            assert full not in body
            assert full[:-4] not in body  # not even the birth date with the area


async def test_intake_without_a_type_waits_for_registration(
    client: Client, world: World, settings: Settings
) -> None:
    csrf = await act_as(client, "lz_clerk")
    case = await take_in(client, csrf, dispute_type=None, channel="hotline")
    assert case["status"] == "accepted"
    assert case["number"] is None
    status, registered = await call(
        client, "POST", f"/api/cases/{case['id']}/register", csrf, {"dispute_type": "labour"}
    )
    assert status == 200, registered
    assert registered["status"] == "registered"
    assert registered["dispute_type"] == "labour"
    assert registered["number"] == f"({year_of(settings)})凉综调字第0001号"
    # Labour disputes are held to 15 days (deadline_rules default).
    assert registered["deadline_on"] == (settings.today() + dt.timedelta(days=15)).isoformat()
    status, again = await call(
        client, "POST", f"/api/cases/{case['id']}/register", csrf, {"dispute_type": "land"}
    )
    assert status == 409, again
    assert again["error"]["code"] == "error.conflict"
    assert await timeline_kinds(client, case["id"]) == ["accepted", "registered"]


async def test_numbers_increase_without_gaps_per_county_and_year(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    year = year_of(settings)
    lz = await act_as(client, "lz_clerk")
    first = await take_in(client, lz)
    numbers = [first["number"]] + [(await take_in(client, lz))["number"] for _ in range(2)]
    # A township's and a village's cases share their county's sequence.
    numbers.append((await take_in(client, lz, centre_code="620602001"))["number"])
    numbers.append((await take_in(client, lz, centre_code="620602001001"))["number"])
    assert numbers == [f"({year})凉综调字第{n:04d}号" for n in range(1, 6)]
    # A failed registration (conflict) uses up no number.
    unregistered = await take_in(client, lz, dispute_type=None)
    status, _ = await call(
        client, "POST", f"/api/cases/{first['id']}/register", lz, {"dispute_type": "land"}
    )
    assert status == 409
    status, body = await call(
        client, "POST", f"/api/cases/{unregistered['id']}/register", lz, {"dispute_type": "land"}
    )
    assert status == 200
    assert body["number"] == f"({year})凉综调字第0006号"

    mq = await act_as(client, "mq_clerk")
    assert (await take_in(client, mq))["number"] == f"({year})民综调字第0001号"
    assert (await take_in(client, mq))["number"] == f"({year})民综调字第0002号"

    admin = await act_as(client, "admin")
    assert (await take_in(client, admin))["number"] == f"({year})武综调字第0001号"

    # A case accepted last year is numbered in last year's sequence.
    lz = await act_as(client, "lz_clerk")
    old = await take_in(client, lz, dispute_type=None)
    await execute(
        db,
        "UPDATE cases SET accepted_on = :day WHERE id = :id",
        day=dt.date(year - 1, 12, 30),
        id=old["id"],
    )
    status, body = await call(
        client, "POST", f"/api/cases/{old['id']}/register", lz, {"dispute_type": "other"}
    )
    assert status == 200, body
    assert body["number"] == f"({year - 1})凉综调字第0001号"
    assert (await take_in(client, lz))["number"] == f"({year})凉综调字第0007号"


async def test_deadlines_follow_lane_and_type(
    client: Client, world: World, settings: Settings
) -> None:
    csrf = await act_as(client, "lz_clerk")
    today = settings.today()

    def after(days: int) -> str:
        return (today + dt.timedelta(days=days)).isoformat()

    assert (await take_in(client, csrf))["deadline_on"] == after(30)
    assert (await take_in(client, csrf, lane="fast"))["deadline_on"] == after(3)
    assert (await take_in(client, csrf, dispute_type="labour"))["deadline_on"] == after(15)
    # Rerouting into the fast lane shortens the time limit.
    case = await take_in(client, csrf)
    status, routed = await call(
        client,
        "POST",
        f"/api/cases/{case['id']}/route",
        csrf,
        {
            "target": "room",
            "org_code": "620602-R01",
            "reason": "简单纠纷，当场调处",
            "lane": "fast",
        },
    )
    assert status == 200, routed
    assert routed["lane"] == "fast"
    assert routed["deadline_on"] == after(3)


# --- routing --------------------------------------------------------------------------------


async def test_routing_down_up_and_to_every_kind_of_target(
    client: Client, world: World, db: AsyncSession
) -> None:
    lz = await act_as(client, "lz_clerk")
    case = await take_in(client, lz)
    case_id = case["id"]

    async def route(csrf: str, **body: Any) -> dict[str, Any]:
        status, result = await call(
            client, "POST", f"/api/cases/{case_id}/route", csrf, {"reason": "按属地分流", **body}
        )
        assert status == 200, result
        return dict(result)

    assert (await route(lz, target="centre", org_code="620602001"))["centre_code"] == "620602001"
    assert (await route(lz, target="centre", org_code="620602001001"))["status"] == "routed"
    village = await act_as(client, "village_clerk")
    status, seen = await call(client, "GET", f"/api/cases/{case_id}")
    assert status == 200 and seen["centre_code"] == "620602001001"
    # The village reports it up to the county (上报), and no longer sees it.
    assert (await route(village, target="centre", org_code="620602"))["centre_code"] == "620602"
    status, _ = await call(client, "GET", f"/api/cases/{case_id}")
    assert status == 404

    lz = await act_as(client, "lz_clerk")
    room = await route(lz, target="room", org_code="620602-R01")
    assert room["room_code"] == "620602-R01"
    department = await route(lz, target="department", org_code="620602-D01")
    assert department["department_code"] == "620602-D01"
    court = await route(lz, target="court", org_code="620602-C01")
    assert court["court_code"] == "620602-C01"
    mediator_id = world.staff["lz_mediator"].id
    assert (await route(lz, target="mediator", mediator_id=mediator_id))["mediator_id"] == (
        mediator_id
    )

    status, events = await call(client, "GET", f"/api/cases/{case_id}/timeline")
    routed = [e["detail"] for e in events if e["kind"] == "routed"]
    assert [r["target"] for r in routed] == [
        "centre",
        "centre",
        "centre",
        "room",
        "department",
        "court",
        "mediator",
    ]
    assert routed[0]["to_code"] == "620602001"
    assert routed[3]["to"] == "老王说理室"
    assert all(r["reason"] == "按属地分流" for r in routed)
    assert await scalar(db, "SELECT count(*) FROM routings WHERE case_id = :id", id=case_id) == 7

    # A reason is required, and a routing that fails saves nothing.
    status, body = await call(
        client, "POST", f"/api/cases/{case_id}/route", lz, {"target": "court", "org_code": "620602"}
    )
    assert status == 422
    assert set(body["error"]["fields"]) == {"reason"}
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/route",
        lz,
        {"target": "court", "org_code": "620602", "reason": "错误的目标"},
    )
    assert status == 422
    assert body["error"]["fields"] == {"org_code": "没有这个单位，或您无权选择。"}
    assert await scalar(db, "SELECT count(*) FROM routings WHERE case_id = :id", id=case_id) == 7


# --- mediation, supervision, consultation -----------------------------------------------------


async def test_mediator_starts_mediation(client: Client, world: World) -> None:
    lz = await act_as(client, "lz_clerk")
    case = await take_in(client, lz)
    status, _ = await call(
        client,
        "POST",
        f"/api/cases/{case['id']}/route",
        lz,
        {"target": "mediator", "mediator_id": world.staff["laowang"].id, "reason": "老王擅长"},
    )
    assert status == 200
    # Starting is the mediator's (or a supervisor's) step, not the clerk's.
    status, _ = await call(client, "POST", f"/api/cases/{case['id']}/start", lz)
    assert status == 403
    csrf = await act_as(client, "laowang")
    status, started = await call(client, "POST", f"/api/cases/{case['id']}/start", csrf)
    assert status == 200, started
    assert started["status"] == "mediating"
    assert started["room_code"] == "620602-R01"
    status, _ = await call(client, "POST", f"/api/cases/{case['id']}/start", csrf)
    assert status == 409
    kinds = await timeline_kinds(client, case["id"])
    assert kinds == ["accepted", "registered", "routed", "mediation_started"]


async def test_supervision_of_an_overdue_case(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    lz = await act_as(client, "lz_clerk")
    case = await take_in(client, lz)
    await execute(
        db,
        "UPDATE cases SET deadline_on = :day WHERE id = :id",
        day=settings.today() - dt.timedelta(days=1),
        id=case["id"],
    )
    status, body = await call(
        client, "POST", f"/api/cases/{case['id']}/supervision", lz, {"note": "请加快办理"}
    )
    assert status == 403
    assert body["error"]["message"] == "您的角色不能执行此操作。"

    csrf = await act_as(client, "lz_super")
    status, listed = await call(client, "GET", "/api/cases?overdue=true")
    assert status == 200
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    respond_by = (settings.today() + dt.timedelta(days=2)).isoformat()
    status, detail = await call(
        client,
        "POST",
        f"/api/cases/{case['id']}/supervision",
        csrf,
        {"note": "已超期，请两日内报告进展", "respond_by": respond_by},
    )
    assert status == 201, detail
    assert detail["overdue"] is True
    status, events = await call(client, "GET", f"/api/cases/{case['id']}/timeline")
    note = events[-1]
    assert note["kind"] == "supervised"
    assert note["actor_id"] == world.staff["lz_super"].id
    assert note["detail"] == {
        "note": "已超期，请两日内报告进展",
        "respond_by": respond_by,
        "overdue": True,
    }
    assert await scalar(db, "SELECT count(*) FROM supervisions") == 1


async def test_joint_consultation_summons_departments_who_report_once(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    lz = await act_as(client, "lz_clerk")
    case = await take_in(client, lz, dispute_type="labour", title="拖欠农民工工资")
    case_id = case["id"]
    # Neither department sees the case before it is summoned.
    for liaison in ("lz_liaison", "lz_housing"):
        await act_as(client, liaison)
        assert (await call(client, "GET", f"/api/cases/{case_id}"))[0] == 404

    csrf = await act_as(client, "lz_super")
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/consultations",
        csrf,
        {
            "topic": "工程款与工资纠纷，需人社、住建会商",
            "department_codes": ["620602-D01", "620602-D02"],
            "respond_by": (settings.today() - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert status == 422
    assert body["error"]["fields"] == {"respond_by": "日期不能早于今天。"}
    respond_by = (settings.today() + dt.timedelta(days=3)).isoformat()
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/consultations",
        csrf,
        {
            "topic": "工程款与工资纠纷，需人社、住建会商",
            "department_codes": ["620602-D01", "620602-D02", "620602-D01"],
            "respond_by": respond_by,
        },
    )
    assert status == 201, body
    consultation_id = body["id"]
    assert (
        await scalar(
            db, "SELECT count(*) FROM summonses WHERE consultation_id = :id", id=consultation_id
        )
        == 2
    )
    # The housing bureau's deadline has passed by the time it reports.
    housing_id = world.orgs["620602-D02"].id

    reply_ids: dict[str, int] = {}
    for liaison in ("lz_liaison", "lz_housing"):
        csrf = await act_as(client, liaison)
        status, seen = await call(client, "GET", f"/api/cases/{case_id}")
        assert status == 200, seen
        status, listed = await call(client, "GET", "/api/cases")
        assert [c["id"] for c in listed["items"]] == [case_id]
        status, queue = await call(client, "GET", "/api/summonses")
        assert status == 200
        assert len(queue) == 1
        assert queue[0]["case_id"] == case_id
        assert queue[0]["status"] == "pending"
        assert queue[0]["respond_by"] == respond_by
        reply_ids[liaison] = queue[0]["id"]

    # Another department's summons is not theirs to answer.
    csrf = await act_as(client, "lz_liaison")
    status, _ = await call(
        client,
        "POST",
        f"/api/summonses/{reply_ids['lz_housing']}/reply",
        csrf,
        {"response": "代为报到"},
    )
    assert status == 404
    status, _ = await call(
        client,
        "POST",
        f"/api/summonses/{reply_ids['lz_liaison']}/reply",
        csrf,
        {"response": "人社局已派员，核实欠薪名单"},
    )
    assert status == 200
    status, body = await call(
        client,
        "POST",
        f"/api/summonses/{reply_ids['lz_liaison']}/reply",
        csrf,
        {"response": "再次报到"},
    )
    assert status == 409, body
    status, queue = await call(client, "GET", "/api/summonses")
    assert queue[0]["status"] == "reported"
    assert queue[0]["response"] == "人社局已派员，核实欠薪名单"

    await execute(
        db,
        "UPDATE consultations SET respond_by = :day WHERE id = :id",
        day=settings.today() - dt.timedelta(days=1),
        id=consultation_id,
    )
    csrf = await act_as(client, "lz_housing")
    status, _ = await call(
        client,
        "POST",
        f"/api/summonses/{reply_ids['lz_housing']}/reply",
        csrf,
        {"response": "住建局核实工程款支付情况"},
    )
    assert status == 200
    status, queue = await call(client, "GET", "/api/summonses")
    assert queue[0]["status"] == "late"
    assert (
        await scalar(
            db,
            "SELECT status FROM summonses WHERE department_id = :d",
            d=housing_id,
        )
        == "late"
    )

    await act_as(client, "lz_super")
    status, events = await call(client, "GET", f"/api/cases/{case_id}/timeline")
    reports = [e["detail"] for e in events if e["kind"] == "department_reported"]
    assert [(r["department"], r["late"]) for r in reports] == [
        ("凉州区人社局", False),
        ("凉州区住建局", True),
    ]
    convened = next(e for e in events if e["kind"] == "consultation_convened")
    assert convened["detail"]["departments"] == ["凉州区人社局", "凉州区住建局"]


# --- closure and aftercare ------------------------------------------------------------------


async def test_closure_with_each_outcome(client: Client, world: World, db: AsyncSession) -> None:
    lz = await act_as(client, "lz_clerk")
    cases = [await take_in(client, lz) for _ in range(3)]
    csrf = await act_as(client, "lz_super")

    async def close(case_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        return await call(client, "POST", f"/api/cases/{case_id}/close", csrf, body)

    status, body = await close(cases[0]["id"], {"outcome": "not_mediated"})
    assert status == 422
    assert body["error"]["fields"] == {
        "body": "调解不成的，须选择后续去向（诉讼、仲裁、行政处理或上报）。"
    }
    status, body = await close(cases[0]["id"], {"outcome": "mediated", "next_step": "litigation"})
    assert status == 422
    assert body["error"]["fields"] == {"body": "只有调解不成的案件才填写后续去向。"}
    assert await scalar(db, "SELECT count(*) FROM cases WHERE status = 'closed'") == 0

    status, closed = await close(cases[0]["id"], {"outcome": "mediated", "note": "达成协议"})
    assert status == 200, closed
    assert (closed["status"], closed["outcome"], closed["next_step"]) == (
        "closed",
        "mediated",
        None,
    )
    assert closed["outcome_note"] == "达成协议"
    assert closed["closed_at"] is not None
    status, closed = await close(
        cases[1]["id"], {"outcome": "not_mediated", "next_step": "litigation"}
    )
    assert status == 200
    assert (closed["outcome"], closed["next_step"]) == ("not_mediated", "litigation")
    status, closed = await close(cases[2]["id"], {"outcome": "withdrawn"})
    assert status == 200
    assert closed["outcome"] == "withdrawn"

    status, body = await close(cases[0]["id"], {"outcome": "withdrawn"})
    assert status == 409
    assert body["error"]["message"] == "案件当前状态不允许此操作。"


async def test_full_case_timeline_in_order(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    """One case through every step; the timeline lists each, in order."""
    lz = await act_as(client, "lz_clerk")
    case = await take_in(client, lz, dispute_type=None)
    case_id = case["id"]
    assert (await call(client, "POST", f"/api/cases/{case_id}/feedback", lz, {"note": "x"}))[
        0
    ] == 409
    steps: list[tuple[str, str, str, Any]] = [
        ("lz_clerk", "POST", "register", {"dispute_type": "neighbour"}),
        (
            "lz_clerk",
            "POST",
            "route",
            {"target": "mediator", "mediator_id": world.staff["laowang"].id, "reason": "专业调解"},
        ),
        ("laowang", "POST", "start", None),
        ("lz_super", "POST", "supervision", {"note": "跟踪督办"}),
        (
            "lz_super",
            "POST",
            "consultations",
            {
                "topic": "会商",
                "department_codes": ["620602-D01"],
                "respond_by": settings.today().isoformat(),
            },
        ),
    ]
    for username, method, action, body in steps:
        csrf = await act_as(client, username)
        status, result = await call(client, method, f"/api/cases/{case_id}/{action}", csrf, body)
        assert status in (200, 201), (action, result)

    csrf = await act_as(client, "lz_liaison")
    _, queue = await call(client, "GET", "/api/summonses")
    status, _ = await call(
        client, "POST", f"/api/summonses/{queue[0]['id']}/reply", csrf, {"response": "已报到"}
    )
    assert status == 200
    # A liaison may not close the case.
    status, body = await call(
        client, "POST", f"/api/cases/{case_id}/close", csrf, {"outcome": "mediated"}
    )
    assert status == 403

    csrf = await act_as(client, "laowang")
    status, closed = await call(
        client, "POST", f"/api/cases/{case_id}/close", csrf, {"outcome": "mediated"}
    )
    assert status == 200, closed
    status, fed = await call(
        client, "POST", f"/api/cases/{case_id}/feedback", csrf, {"note": "已告知双方调解结果"}
    )
    assert status == 200, fed
    assert fed["feedback_at"] is not None

    yesterday = (settings.today() - dt.timedelta(days=1)).isoformat()
    status, body = await call(
        client, "POST", f"/api/cases/{case_id}/follow-ups", csrf, {"due_on": yesterday}
    )
    assert status == 422
    assert body["error"]["fields"] == {"due_on": "日期不能早于办结日期。"}
    due_on = (settings.today() + dt.timedelta(days=30)).isoformat()
    status, visit = await call(
        client, "POST", f"/api/cases/{case_id}/follow-ups", csrf, {"due_on": due_on}
    )
    assert status == 201, visit
    assert (
        await scalar(db, "SELECT assignee_id FROM follow_ups WHERE id = :id", id=visit["id"])
        == world.staff["laowang"].id
    )
    status, done = await call(
        client,
        "POST",
        f"/api/follow-ups/{visit['id']}/result",
        csrf,
        {"result": "holding", "note": "协议已履行"},
    )
    assert status == 200, done
    status, _ = await call(
        client, "POST", f"/api/follow-ups/{visit['id']}/result", csrf, {"result": "broken"}
    )
    assert status == 409
    assert await scalar(db, "SELECT result FROM follow_ups WHERE id = :id", id=visit["id"]) == (
        "holding"
    )

    status, events = await call(client, "GET", f"/api/cases/{case_id}/timeline")
    assert [e["kind"] for e in events] == [
        "accepted",
        "registered",
        "routed",
        "mediation_started",
        "supervised",
        "consultation_convened",
        "department_reported",
        "closed",
        "feedback_given",
        "follow_up_scheduled",
        "follow_up_done",
    ]
    times = [e["at"] for e in events]
    assert times == sorted(times)
    actors = [e["actor_id"] for e in events]
    assert actors[0] == world.staff["lz_clerk"].id
    assert actors[3] == world.staff["laowang"].id
    assert events[7]["detail"]["outcome"] == "mediated"
    assert events[10]["detail"]["result"] == "holding"


async def test_follow_up_cannot_be_given_to_someone_who_could_not_record_it(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    lz = await act_as(client, "lz_super")
    case = await take_in(client, lz)
    await call(client, "POST", f"/api/cases/{case['id']}/close", lz, {"outcome": "mediated"})
    due_on = (settings.today() + dt.timedelta(days=7)).isoformat()
    for username in ("mq_super", "lz_liaison", "lz_judge", "lz_mediator"):
        status, body = await call(
            client,
            "POST",
            f"/api/cases/{case['id']}/follow-ups",
            lz,
            {"due_on": due_on, "assignee_id": world.staff[username].id},
        )
        assert status == 422, username
        assert body["error"]["fields"] == {"assignee_id": "没有这名工作人员，或其无法办理此案件。"}
    assert await scalar(db, "SELECT count(*) FROM follow_ups") == 0
    status, _ = await call(
        client,
        "POST",
        f"/api/cases/{case['id']}/follow-ups",
        lz,
        {"due_on": due_on, "assignee_id": world.staff["lz_clerk"].id},
    )
    assert status == 201


async def test_ratings_by_parties_through_their_link(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await act_as(client, "lz_super")
    status, body = await call(client, "POST", "/api/cases", csrf, dispute())
    case = body["case"]
    links = body["party_links"]
    by_role = {p["role"]: str(p["id"]) for p in case["parties"]}

    async def as_party(role: str) -> str:
        client.session.cookie_jar.clear()
        path = "/p/" + links[by_role[role]].split("/p/", 1)[1]
        response = await client.get(path, allow_redirects=False)
        assert response.status in (302, 303), await response.text()
        party_csrf = await scalar(
            db,
            "SELECT csrf_token FROM web_sessions WHERE party_id = :id ORDER BY id DESC",
            id=int(by_role[role]),
        )
        return str(party_csrf)

    party = await as_party("applicant")
    status, body = await call(client, "POST", "/api/party/rating", party, {"score": 5})
    assert status == 409
    assert body["error"]["message"] == "案件办结后才能评价。"

    csrf = await act_as(client, "lz_super")
    await call(client, "POST", f"/api/cases/{case['id']}/close", csrf, {"outcome": "mediated"})

    party = await as_party("agent")
    status, body = await call(client, "POST", "/api/party/rating", party, {"score": 4})
    assert status == 409
    assert body["error"]["message"] == "代理人不能评价，请由当事人本人评价。"

    party = await as_party("applicant")
    status, body = await call(client, "POST", "/api/party/rating", party, {"score": 6})
    assert status == 422
    status, _ = await call(
        client, "POST", "/api/party/rating", party, {"score": 5, "comment": "调解员很耐心"}
    )
    assert status == 201
    status, body = await call(client, "POST", "/api/party/rating", party, {"score": 1})
    assert status == 409
    assert body["error"]["message"] == "您已评价过此案件。"
    assert await scalar(db, "SELECT score FROM ratings") == 5
    assert await scalar(db, "SELECT count(*) FROM ratings") == 1
    # A party session is no staff session.
    assert (await call(client, "GET", f"/api/cases/{case['id']}"))[0] == 401


# --- online submissions ---------------------------------------------------------------------


def online_dispute(**overrides: Any) -> dict[str, Any]:
    """What a citizen fills in on the public form."""
    body: dict[str, Any] = {
        "centre_code": "620602001",
        "name": "赵六",
        "phone": "13912345678",
        "id_number": APPLICANT_ID,
        "respondent_name": "钱七",
        "title": "宅基地边界纠纷",
        "facts": "邻居建房占用我家宅基地约半米。",
    }
    body.update(overrides)
    return body


async def test_online_submission_accepted_at_the_window(
    client: Client, world: World, settings: Settings
) -> None:
    status, filed = await call(client, "POST", "/api/public/disputes", None, online_dispute())
    assert status == 201, filed
    assert "/p/" in filed["follow_url"]
    case_id = filed["reference"]

    # Another county's window does not see it.
    await act_as(client, "mq_clerk")
    assert (await call(client, "GET", f"/api/cases/{case_id}"))[0] == 404

    csrf = await act_as(client, "lz_clerk")
    status, listed = await call(client, "GET", "/api/cases?status=submitted")
    assert [c["id"] for c in listed["items"]] == [case_id]
    status, case = await call(client, "GET", f"/api/cases/{case_id}")
    assert case["status"] == "submitted"
    assert case["first_receiver_id"] is None
    assert case["channel"] == "online"
    assert APPLICANT_ID not in str(case)
    status, accepted = await call(
        client, "POST", f"/api/cases/{case_id}/accept", csrf, {"dispute_type": "land"}
    )
    assert status == 200, accepted
    assert accepted["status"] == "registered"
    assert accepted["number"] == f"({year_of(settings)})凉综调字第0001号"
    assert accepted["first_receiver_id"] == world.staff["lz_clerk"].id
    status, _ = await call(client, "POST", f"/api/cases/{case_id}/accept", csrf, {})
    assert status == 409
    status, _ = await call(client, "POST", f"/api/cases/{case_id}/decline", csrf, {"reason": "x"})
    assert status == 409
    assert await timeline_kinds(client, case_id) == ["submitted_online", "accepted", "registered"]


async def test_online_submission_declined_with_a_reason(
    client: Client, world: World, db: AsyncSession
) -> None:
    status, filed = await call(client, "POST", "/api/public/disputes", None, online_dispute())
    case_id = filed["reference"]
    csrf = await act_as(client, "lz_clerk")
    status, body = await call(client, "POST", f"/api/cases/{case_id}/decline", csrf, {})
    assert status == 422
    assert body["error"]["fields"] == {"reason": "此项必填。"}
    reason = "该纠纷已进入诉讼程序，请向法院咨询。"
    status, declined = await call(
        client, "POST", f"/api/cases/{case_id}/decline", csrf, {"reason": reason}
    )
    assert status == 200, declined
    assert declined["status"] == "declined"
    assert declined["outcome_note"] == reason
    assert declined["number"] is None
    status, _ = await call(client, "POST", f"/api/cases/{case_id}/accept", csrf, {})
    assert status == 409
    status, events = await call(client, "GET", f"/api/cases/{case_id}/timeline")
    assert [e["kind"] for e in events] == ["submitted_online", "declined"]
    assert events[-1]["detail"]["reason"] == reason
    assert await scalar(db, "SELECT count(*) FROM case_number_counters") == 0


# --- the timeline is append-only in the database itself -------------------------------------


async def test_database_refuses_to_change_or_delete_timeline_entries(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await act_as(client, "lz_clerk")
    case = await take_in(client, csrf)
    count = await scalar(db, "SELECT count(*) FROM case_events WHERE case_id = :id", id=case["id"])
    assert count == 2
    refused = (DBAPIError, IntegrityError, OperationalError)
    with pytest.raises(refused, match="append-only"):
        await db.execute(text("UPDATE case_events SET kind = 'closed'"))
    await db.rollback()
    with pytest.raises(refused, match="append-only"):
        await db.execute(text("DELETE FROM case_events WHERE case_id = :id"), {"id": case["id"]})
    await db.rollback()
    kinds = await timeline_kinds(client, case["id"])
    assert kinds == ["accepted", "registered"]


async def test_concurrent_registrations_get_distinct_gapless_numbers(
    client: Client, world: World, settings: Settings
) -> None:
    """Clerks at several windows register at the same moment."""
    csrf = await act_as(client, "lz_clerk")
    answers = await asyncio.gather(
        *(call(client, "POST", "/api/cases", csrf, dispute()) for _ in range(6))
    )
    assert [status for status, _ in answers] == [201] * 6, answers
    numbers = sorted(body["case"]["number"] for _, body in answers)
    year = year_of(settings)
    assert numbers == [f"({year})凉综调字第{n:04d}号" for n in range(1, 7)]
