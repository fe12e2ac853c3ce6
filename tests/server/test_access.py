"""Who sees which cases, and who may do what: through the JSON API on both databases.

Out of scope is answered exactly like a missing id (404, same body), so nobody can learn that
another county's case exists; a role that may not act gets 403; and codes or ids a client sends
never reach beyond what the caller may reach.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.passwords import hash_password
from server.db import Staff
from server.settings import Settings
from server.vocabulary import Role
from tests.server.test_workflow import Client, act_as, call, scalar, take_in
from tests.world import World

MISSING = 2_000_000_000


@dataclass
class Cases:
    """One case at each level of the world, by where it is handled."""

    county: int  # 凉州区, registered, not routed
    township: int  # 东大街街道
    village: int  # 东关村 (taken in by the village clerk)
    room: int  # routed to 老王说理室
    mediator: int  # routed to the county's mediator
    department: int  # routed to 凉州区人社局
    summoned: int  # 凉州区人社局 summoned to a consultation
    court: int  # routed to 凉州区人民法院
    minqin: int  # 民勤县
    city: int  # 武威市


async def arrange(client: Client, world: World, settings: Settings) -> Cases:
    """Create the cases as the staff who would."""
    lz = await act_as(client, "lz_clerk")
    county = (await take_in(client, lz))["id"]
    township = (await take_in(client, lz, centre_code="620602001"))["id"]

    async def routed(**target: Any) -> int:
        case_id = int((await take_in(client, lz))["id"])
        status, body = await call(
            client, "POST", f"/api/cases/{case_id}/route", lz, {"reason": "分流", **target}
        )
        assert status == 200, body
        return case_id

    room = await routed(target="room", org_code="620602-R01")
    mediator = await routed(target="mediator", mediator_id=world.staff["lz_mediator"].id)
    department = await routed(target="department", org_code="620602-D01")
    court = await routed(target="court", org_code="620602-C01")
    summoned = (await take_in(client, lz))["id"]
    supervisor = await act_as(client, "lz_super")
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{summoned}/consultations",
        supervisor,
        {
            "topic": "会商",
            "department_codes": ["620602-D01"],
            "respond_by": settings.today().isoformat(),
        },
    )
    assert status == 201, body
    village = (await take_in(client, await act_as(client, "village_clerk")))["id"]
    minqin = (await take_in(client, await act_as(client, "mq_clerk")))["id"]
    city = (await take_in(client, await act_as(client, "admin")))["id"]
    return Cases(
        county, township, village, room, mediator, department, summoned, court, minqin, city
    )


async def visible(client: Client, username: str) -> set[int]:
    """The ids of the cases ``username`` finds in the list."""
    await act_as(client, username)
    status, body = await call(client, "GET", "/api/cases?limit=100")
    assert status == 200, body
    return {int(item["id"]) for item in body["items"]}


async def test_each_role_sees_exactly_its_scope(
    client: Client, world: World, settings: Settings
) -> None:
    c = await arrange(client, world, settings)
    everything = {
        c.county,
        c.township,
        c.village,
        c.room,
        c.mediator,
        c.department,
        c.summoned,
        c.court,
        c.minqin,
        c.city,
    }
    liangzhou = everything - {c.minqin, c.city}
    expected = {
        "admin": everything,
        "city_super": everything,
        "lz_super": liangzhou,
        "lz_clerk": liangzhou,
        "mq_super": {c.minqin},
        "mq_clerk": {c.minqin},
        "village_clerk": {c.village},
        "lz_mediator": {c.mediator},
        "laowang": {c.room},
        "lz_liaison": {c.department, c.summoned},
        "lz_housing": set(),
        "mq_liaison": set(),
        "lz_judge": {c.court},
        "lz_court_clerk": {c.court},
    }
    for username, cases in expected.items():
        assert await visible(client, username) == cases, username
        # Detail and timeline agree with the list, case by case.
        for case_id in everything:
            status, _ = await call(client, "GET", f"/api/cases/{case_id}")
            assert status == (200 if case_id in cases else 404), (username, case_id)
        status, _ = await call(client, "GET", f"/api/cases/{c.minqin}/timeline")
        assert status == (200 if c.minqin in cases else 404), username


async def test_out_of_scope_is_answered_exactly_like_a_missing_case(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    c = await arrange(client, world, settings)
    # 民勤's case gets closed and a follow-up visit, so every action has something to act on.
    mq = await act_as(client, "mq_super")
    status, _ = await call(
        client, "POST", f"/api/cases/{c.minqin}/close", mq, {"outcome": "mediated"}
    )
    assert status == 200
    status, visit = await call(
        client,
        "POST",
        f"/api/cases/{c.minqin}/follow-ups",
        mq,
        {"due_on": (settings.today() + dt.timedelta(days=10)).isoformat()},
    )
    assert status == 201
    events_before = await scalar(db, "SELECT count(*) FROM case_events")

    csrf = await act_as(client, "lz_super")
    tomorrow = (settings.today() + dt.timedelta(days=1)).isoformat()
    actions: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/cases/{id}", None),
        ("GET", "/api/cases/{id}/timeline", None),
        ("POST", "/api/cases/{id}/register", {"dispute_type": "land"}),
        ("POST", "/api/cases/{id}/accept", {}),
        ("POST", "/api/cases/{id}/decline", {"reason": "不予受理"}),
        (
            "POST",
            "/api/cases/{id}/route",
            {"target": "centre", "org_code": "620602", "reason": "x"},
        ),
        ("POST", "/api/cases/{id}/start", None),
        ("POST", "/api/cases/{id}/supervision", {"note": "督办"}),
        (
            "POST",
            "/api/cases/{id}/consultations",
            {"topic": "会商", "department_codes": ["620602-D01"], "respond_by": tomorrow},
        ),
        ("POST", "/api/cases/{id}/close", {"outcome": "withdrawn"}),
        ("POST", "/api/cases/{id}/feedback", {"note": "反馈"}),
        ("POST", "/api/cases/{id}/follow-ups", {"due_on": tomorrow}),
    ]
    for method, template, body in actions:
        missing = await client.request(
            method,
            template.format(id=MISSING),
            json=body,
            headers={"X-CSRF-Token": csrf},
        )
        hidden = await client.request(
            method,
            template.format(id=c.minqin),
            json=body,
            headers={"X-CSRF-Token": csrf},
        )
        assert missing.status == hidden.status == 404, template
        assert await missing.read() == await hidden.read(), template
        assert missing.headers["Content-Type"] == hidden.headers["Content-Type"]
    assert (await hidden.json())["error"] == {
        "code": "error.not_found",
        "message": "未找到该内容，或您无权查看。",
    }
    status, body = await call(
        client, "POST", f"/api/follow-ups/{visit['id']}/result", csrf, {"result": "holding"}
    )
    assert status == 404
    status, missing_body = await call(
        client, "POST", f"/api/follow-ups/{MISSING}/result", csrf, {"result": "holding"}
    )
    assert body == missing_body

    # 民勤's liaison cannot answer 凉州's summons, which looks just like a missing one.
    summons_id = await scalar(db, "SELECT min(id) FROM summonses")
    csrf = await act_as(client, "mq_liaison")
    hidden_status, hidden = await call(
        client, "POST", f"/api/summonses/{summons_id}/reply", csrf, {"response": "报到"}
    )
    missing_status, missing_body = await call(
        client, "POST", f"/api/summonses/{MISSING}/reply", csrf, {"response": "报到"}
    )
    assert hidden_status == missing_status == 404
    assert hidden == missing_body
    # Nothing at all was written by any of these attempts.
    assert await scalar(db, "SELECT count(*) FROM case_events") == events_before
    assert await scalar(db, "SELECT status FROM cases WHERE id = :id", id=c.minqin) == "closed"
    assert await scalar(db, "SELECT count(*) FROM supervisions") == 0


async def test_a_role_may_not_do_what_it_must_not(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    c = await arrange(client, world, settings)
    tomorrow = (settings.today() + dt.timedelta(days=1)).isoformat()
    refused: list[tuple[str, str, int, dict[str, Any] | None]] = [
        ("lz_liaison", "close", c.department, {"outcome": "mediated"}),
        (
            "lz_liaison",
            "route",
            c.department,
            {"target": "court", "org_code": "620602-C01", "reason": "x"},
        ),
        ("lz_liaison", "supervision", c.department, {"note": "督办"}),
        ("lz_clerk", "supervision", c.county, {"note": "督办"}),
        ("lz_clerk", "close", c.county, {"outcome": "mediated"}),
        ("lz_clerk", "start", c.county, None),
        ("village_clerk", "supervision", c.village, {"note": "督办"}),
        ("lz_judge", "route", c.court, {"target": "centre", "org_code": "620602", "reason": "x"}),
        ("lz_judge", "close", c.court, {"outcome": "mediated"}),
        ("lz_court_clerk", "register", c.court, {"dispute_type": "land"}),
        (
            "lz_mediator",
            "route",
            c.mediator,
            {"target": "court", "org_code": "620602-C01", "reason": "x"},
        ),
        ("lz_mediator", "supervision", c.mediator, {"note": "督办"}),
        (
            "laowang",
            "consultations",
            c.room,
            {"topic": "会商", "department_codes": ["620602-D01"], "respond_by": tomorrow},
        ),
    ]
    before = await scalar(db, "SELECT count(*) FROM case_events")
    for username, action, case_id, body in refused:
        csrf = await act_as(client, username)
        status, answer = await call(client, "POST", f"/api/cases/{case_id}/{action}", csrf, body)
        assert status == 403, (username, action, answer)
        assert answer["error"]["message"] == "您的角色不能执行此操作。"
    # Intake is for centre staff and mediators.
    for username in ("lz_liaison", "lz_judge", "lz_court_clerk"):
        csrf = await act_as(client, username)
        status, _ = await call(
            client,
            "POST",
            "/api/cases",
            csrf,
            {"channel": "walk_in", "title": "x", "parties": [{"role": "applicant", "name": "a"}]},
        )
        assert status == 403, username
    # Only liaisons report for a department.
    summons_id = await scalar(db, "SELECT min(id) FROM summonses")
    csrf = await act_as(client, "lz_super")
    status, _ = await call(
        client, "POST", f"/api/summonses/{summons_id}/reply", csrf, {"response": "代报"}
    )
    assert status == 403
    status, _ = await call(client, "GET", "/api/summonses")
    assert status == 403
    assert await scalar(db, "SELECT count(*) FROM case_events") == before
    assert await scalar(db, "SELECT count(*) FROM cases WHERE status = 'closed'") == 0


async def test_a_mediator_who_takes_in_a_dispute_keeps_it(client: Client, world: World) -> None:
    csrf = await act_as(client, "laowang")
    case = await take_in(client, csrf)
    assert case["mediator_id"] == world.staff["laowang"].id
    assert case["room_code"] == "620602-R01"
    assert case["centre_code"] == "620602"
    status, _ = await call(client, "GET", f"/api/cases/{case['id']}")
    assert status == 200
    assert await visible(client, "lz_mediator") == set()


async def test_client_sent_codes_and_ids_never_widen_scope(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    # A mediator in 民勤 (not part of the shared world).
    minqin_mediator = Staff(
        username="mq_mediator",
        display_name="民勤调解员",
        role=Role.MEDIATOR,
        org_id=world.orgs["620621"].id,
        password_hash=hash_password("unused password"),
    )
    db.add(minqin_mediator)
    await db.commit()

    csrf = await act_as(client, "lz_clerk")
    cases_before = await scalar(db, "SELECT count(*) FROM cases")
    status, body = await call(
        client,
        "POST",
        "/api/cases",
        csrf,
        {
            "channel": "walk_in",
            "centre_code": "620621",
            "title": "跨县受理",
            "parties": [{"role": "applicant", "name": "张三"}],
        },
    )
    assert status == 422
    assert body["error"]["fields"] == {"centre_code": "没有这个单位，或您无权选择。"}
    # The same answer as for a code that does not exist.
    status, unknown = await call(
        client,
        "POST",
        "/api/cases",
        csrf,
        {
            "channel": "walk_in",
            "centre_code": "999999",
            "title": "跨县受理",
            "parties": [{"role": "applicant", "name": "张三"}],
        },
    )
    assert (status, unknown) == (422, body)
    assert await scalar(db, "SELECT count(*) FROM cases") == cases_before

    case_id = (await take_in(client, csrf))["id"]
    routings: list[dict[str, Any]] = [
        {"target": "centre", "org_code": "620621"},
        {"target": "centre", "org_code": "620621001"},
        {"target": "department", "org_code": "620621-D01"},
        {"target": "mediator", "mediator_id": minqin_mediator.id},
    ]
    for target in routings:
        status, body = await call(
            client, "POST", f"/api/cases/{case_id}/route", csrf, {"reason": "跨县", **target}
        )
        assert status == 422, target
        field = "mediator_id" if "mediator_id" in target else "org_code"
        assert list(body["error"]["fields"]) == [field]
    # The village cannot send a case sideways into another county either.
    village = await act_as(client, "village_clerk")
    village_case = (await take_in(client, village))["id"]
    status, _ = await call(
        client,
        "POST",
        f"/api/cases/{village_case}/route",
        village,
        {"target": "centre", "org_code": "620621001", "reason": "x"},
    )
    assert status == 422
    # …but it can reach what its county has stationed: the county's room and departments.
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{village_case}/route",
        village,
        {"target": "department", "org_code": "620602-D01", "reason": "欠薪"},
    )
    assert status == 200, body

    supervisor = await act_as(client, "lz_super")
    tomorrow = (settings.today() + dt.timedelta(days=1)).isoformat()
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/consultations",
        supervisor,
        {
            "topic": "跨县会商",
            "department_codes": ["620602-D01", "620621-D01"],
            "respond_by": tomorrow,
        },
    )
    assert status == 422
    assert body["error"]["fields"] == {"department_codes.1": "没有这个单位，或您无权选择。"}
    assert await scalar(db, "SELECT count(*) FROM consultations") == 0
    assert await scalar(db, "SELECT count(*) FROM routings WHERE case_id = :id", id=case_id) == 0
    # The list's organisation filter shows nothing beyond the caller's scope.
    await act_as(client, "mq_clerk")
    minqin_case = (await take_in(client, await act_as(client, "mq_clerk")))["id"]
    await act_as(client, "lz_super")
    status, listed = await call(client, "GET", "/api/cases?org=620621")
    assert status in (200, 422)
    if status == 200:
        assert minqin_case not in {item["id"] for item in listed["items"]}
    assert await visible(client, "mq_liaison") == set()

    # Transfer up to the city is allowed; then the county no longer handles it.
    csrf = await act_as(client, "lz_clerk")
    status, body = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/route",
        csrf,
        {"target": "centre", "org_code": "620600", "reason": "重大疑难，上报市中心"},
    )
    assert status == 200, body
    assert body["centre_code"] == "620600"
    assert (await call(client, "GET", f"/api/cases/{case_id}"))[0] == 404
    assert case_id in await visible(client, "city_super")


async def test_without_a_session_nothing_is_shown(client: Client, world: World) -> None:
    for path in ("/api/cases", "/api/cases/1", "/api/me", "/api/summonses"):
        response = await client.get(path)
        assert response.status == 401, path
        assert (await response.json())["error"]["message"] == "请先登录。"
    response = await client.post("/api/cases", json={"channel": "nonsense"})
    assert response.status == 401
