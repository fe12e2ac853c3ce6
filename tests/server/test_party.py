"""A party's side of a case, on both databases: the personal link, ``/my-case``, the
satisfaction rating (page and JSON) and leaving.

Two browsers take part: ``client`` is the citizen's, ``staff`` a centre's, both on the same
database.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.db import Rating
from server.settings import Settings
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]

APPLICANT_ID = id_number("620602", "19800202", "011")


@pytest.fixture
async def staff(settings: Settings, aiohttp_client: Any, world: World) -> Client:
    """A second browser, for centre staff (its own cookies)."""
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def api(
    client: Client, method: str, path: str, csrf: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    response = await client.request(method, path, json=body, headers=headers)
    raw = await response.text()
    return response.status, (await response.json() if raw else None)


def token_of(url: str) -> str:
    return url.rsplit("/p/", 1)[1]


async def file_online(client: Client, **changes: Any) -> tuple[int, str]:
    """A citizen files through the public JSON API; returns the case id and link token."""
    body = {
        "centre_code": "620602",
        "name": "张三",
        "phone": "13800001111",
        "id_number": APPLICANT_ID,
        "respondent_name": "李四",
        "title": "邻里通道纠纷",
        "facts": "对方在公共通道堆放杂物。",
        "claims": "清理通道。",
    }
    body.update(changes)
    status, result = await api(client, "POST", "/api/public/disputes", body=body)
    assert status == 201, result
    return int(result["reference"]), token_of(result["follow_url"])


async def take_in_with_agent(staff: Client, csrf: str) -> tuple[int, dict[str, str]]:
    """A walk-in case (registered at once) with an agent for the respondent; returns the
    case id and each party's link token by name."""
    status, body = await api(
        staff,
        "POST",
        "/api/cases",
        csrf,
        {
            "channel": "walk_in",
            "title": "劳务费纠纷",
            "facts": "拖欠劳务费。",
            "dispute_type": "labour",
            "parties": [
                {"role": "applicant", "name": "张三", "id_number": APPLICANT_ID},
                {"role": "respondent", "name": "李四"},
                {"role": "agent", "name": "王律师", "represents": 1},
            ],
        },
    )
    assert status == 201, body
    names = {p["id"]: p["name"] for p in body["case"]["parties"]}
    links = {names[int(pid)]: token_of(url) for pid, url in body["party_links"].items()}
    return int(body["case"]["id"]), links


async def accept_and_close(staff: Client, csrf: str, case_id: int, **close: Any) -> None:
    """Accept an online submission (registering it) and close it as mediated."""
    status, body = await api(
        staff, "POST", f"/api/cases/{case_id}/accept", csrf, {"dispute_type": "neighbour"}
    )
    assert status == 200, body
    await close_case(staff, csrf, case_id, **close)


async def close_case(staff: Client, csrf: str, case_id: int, **close: Any) -> None:
    status, body = await api(
        staff, "POST", f"/api/cases/{case_id}/close", csrf, {"outcome": "mediated", **close}
    )
    assert status == 200, body


async def open_link(client: Client, token: str) -> tuple[str, str]:
    """Follow a personal link like a browser; returns the final path and the page."""
    response = await client.get(f"/p/{token}")
    assert response.status == 200, await response.text()
    return response.url.path_qs, await response.text()


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def ratings(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(Rating))).scalar_one())


async def test_link_opens_a_session_and_the_status_page(client: Client, world: World) -> None:
    _, token = await file_online(client)
    first = await client.get(f"/p/{token}", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/my-case"
    assert "bilin_session" in first.cookies

    path, page = await open_link(client, token)
    assert path == "/my-case"
    assert token not in path
    assert token not in page
    assert "邻里通道纠纷" in page
    assert "正在等待凉州区综治中心审核受理" in page
    assert "凉州区综治中心" in page
    # The six steps, intake current (an ordered list with aria-current).
    steps = re.findall(r'<li class="step step-(\w+)"( aria-current="step")?>', page)
    assert [s[0] for s in steps] == ["current"] + ["upcoming"] * 5
    assert steps[0][1]
    assert "登记后生成" in page  # no case number before registration
    # Names only; the party's own ID number masked, never in full.
    assert "李四" in page
    assert APPLICANT_ID not in page
    assert APPLICANT_ID[:3] + "*" * 11 + APPLICANT_ID[-4:] in page
    assert "13800001111" not in page


async def test_status_page_in_english(client: Client, world: World) -> None:
    _, token = await file_online(client)
    await open_link(client, token)
    response = await client.get("/my-case?lang=en")
    page = await response.text()
    assert "waiting for 凉州区综治中心 to review" in page
    assert "Follow-up visit" in page


async def test_registered_case_shows_its_number_and_step(
    client: Client, staff: Client, world: World
) -> None:
    case_id, token = await file_online(client)
    csrf = await login(staff, "lz_clerk")
    status, body = await api(
        staff, "POST", f"/api/cases/{case_id}/accept", csrf, {"dispute_type": "neighbour"}
    )
    assert status == 200
    _, page = await open_link(client, token)
    assert body["number"] in page
    assert '<li class="step step-current" aria-current="step">' in page
    assert re.search(r'step-current" aria-current="step">\s*<span[^>]*>2</span>', page)


async def test_nobody_else_reaches_my_case(client: Client, staff: Client, world: World) -> None:
    # Without a party session: the same 404 page as for anything that does not exist.
    anonymous = await client.get("/my-case")
    missing = await client.get("/no-such-page")
    assert anonymous.status == missing.status == 404
    assert "未找到该内容" in await anonymous.text()
    # A staff session is not a party session.
    await login(staff, "lz_super")
    assert (await staff.get("/my-case")).status == 404
    # A wrong link opens nothing.
    assert (await client.get("/p/not-a-real-token", allow_redirects=False)).status == 404
    assert (await client.get("/my-case")).status == 404

    _, mine = await file_online(client, title="我的案件标题")
    _, theirs = await file_online(client, name="王五", title="别人的案件标题")
    _, page = await open_link(client, mine)
    assert "我的案件标题" in page
    assert "别人的案件标题" not in page
    assert "王五" not in page
    # The other party's link, in the same browser, shows their case and no longer mine.
    _, page = await open_link(client, theirs)
    assert "别人的案件标题" in page
    assert "我的案件标题" not in page


async def test_declined_submission_shows_the_reason(
    client: Client, staff: Client, world: World
) -> None:
    case_id, token = await file_online(client)
    csrf = await login(staff, "lz_clerk")
    status, _ = await api(
        staff, "POST", f"/api/cases/{case_id}/decline", csrf, {"reason": "不属于人民调解范围"}
    )
    assert status == 200
    _, page = await open_link(client, token)
    assert "没有受理这份申请" in page
    assert "不属于人民调解范围" in page
    assert 'class="steps"' not in page


async def test_rating_before_closure_is_refused(
    client: Client, world: World, db: AsyncSession
) -> None:
    _, token = await file_online(client)
    _, page = await open_link(client, token)
    assert 'name="score"' not in page  # no rating form yet
    response = await client.post(
        "/my-case/rating", data={"_csrf": csrf_of(page), "score": "5"}, allow_redirects=False
    )
    assert response.status == 409
    assert "案件办结后才能评价" in await response.text()
    assert await ratings(db) == 0


async def test_rating_after_closure_works_once(
    client: Client, staff: Client, world: World, db: AsyncSession
) -> None:
    case_id, token = await file_online(client)
    csrf = await login(staff, "lz_super")
    await accept_and_close(staff, csrf, case_id, note="内部：双方情绪激动")
    status, _ = await api(
        staff, "POST", f"/api/cases/{case_id}/feedback", csrf, {"note": "对方已同意本周清理通道。"}
    )
    assert status == 200

    _, page = await open_link(client, token)
    assert "调解成功" in page
    assert "对方已同意本周清理通道。" in page
    assert "三十日内" in page  # judicial confirmation explained
    assert "双方情绪激动" not in page
    assert 'aria-current="step"' in page and "step-done" in page
    # The rating form: a radio group of five, inside a fieldset with a legend.
    assert len(re.findall(r'<input class="star-input" type="radio"', page)) == 5
    assert "<legend>满意程度" in page
    csrf_party = csrf_of(page)

    # No score chosen: the form comes back with a message.
    missing = await client.post("/my-case/rating", data={"_csrf": csrf_party, "comment": "好"})
    assert missing.status == 422
    assert "请选择 1 到 5 星" in await missing.text()

    rated = await client.post(
        "/my-case/rating",
        data={"_csrf": csrf_party, "score": "4", "comment": "调解员很耐心"},
        allow_redirects=False,
    )
    assert rated.status == 303
    assert rated.headers["Location"].startswith("/my-case")
    page = await (await client.get("/my-case")).text()
    assert "您的评价" in page
    assert "4 星：满意" in page
    assert "调解员很耐心" in page
    assert 'name="score"' not in page  # the form is gone

    again = await client.post("/my-case/rating", data={"_csrf": csrf_party, "score": "1"})
    assert again.status == 409
    assert "已评价" in await again.text()
    rows = (await db.execute(select(Rating))).scalars().all()
    assert [(r.score, r.comment) for r in rows] == [(4, "调解员很耐心")]


async def test_rating_form_needs_the_session_token(
    client: Client, staff: Client, world: World, db: AsyncSession
) -> None:
    case_id, token = await file_online(client)
    await accept_and_close(staff, await login(staff, "lz_super"), case_id)
    await open_link(client, token)
    response = await client.post("/my-case/rating", data={"score": "5"})
    assert response.status == 403
    assert await ratings(db) == 0


async def test_an_agent_cannot_rate(
    client: Client, staff: Client, world: World, db: AsyncSession
) -> None:
    csrf = await login(staff, "lz_super")
    case_id, links = await take_in_with_agent(staff, csrf)
    await close_case(staff, csrf, case_id)

    _, page = await open_link(client, links["王律师"])
    assert "代理人" in page
    assert "代理人不能评价" in page
    assert 'name="score"' not in page
    response = await client.post("/my-case/rating", data={"_csrf": csrf_of(page), "score": "5"})
    assert response.status == 409
    assert "代理人不能评价" in await response.text()
    assert await ratings(db) == 0

    # The party the agent represents can.
    client.session.cookie_jar.clear()
    _, page = await open_link(client, links["李四"])
    assert 'name="score"' in page


async def test_page_shows_no_internal_notes(
    client: Client, staff: Client, world: World, db: AsyncSession
) -> None:
    case_id, token = await file_online(client)
    csrf = await login(staff, "lz_super")
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {"dispute_type": "neighbour"}),
        ("route", {"target": "room", "org_code": "620602-R01", "reason": "内部理由：老王擅长"}),
        ("supervision", {"note": "督办意见：抓紧办理"}),
        (
            "consultations",
            {
                "topic": "会商议题：涉及住建",
                "department_codes": ["620602-D02"],
                "respond_by": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            },
        ),
        ("start", {}),
    ]
    for action, body in steps:
        status, result = await api(staff, "POST", f"/api/cases/{case_id}/{action}", csrf, body)
        assert status in (200, 201), (action, result)
    await close_case(staff, csrf, case_id, note="结案备注：内部")

    _, page = await open_link(client, token)
    assert "已转交老王说理室办理" in page  # where it went is public …
    for secret in (
        "内部理由",  # … why is not
        "督办",
        "会商",
        "凉州区住建局",
        "结案备注",
        "lz_super",
    ):
        assert secret not in page, secret


async def test_json_rating_through_a_party_session(
    client: Client, staff: Client, world: World, db: AsyncSession
) -> None:
    # Without a party session there is nothing to rate.
    status, _ = await api(client, "POST", "/api/party/rating", body={"score": 5})
    assert status in (403, 404)

    case_id, token = await file_online(client)
    _, page = await open_link(client, token)
    csrf = csrf_of(page)

    status, body = await api(client, "POST", "/api/party/rating", csrf, {"score": 5})
    assert status == 409
    assert body["error"]["code"] == "error.rating_before_closure"
    status, _ = await api(client, "POST", "/api/party/rating", None, {"score": 5})
    assert status == 403  # the session's CSRF token is required

    await accept_and_close(staff, await login(staff, "lz_super"), case_id)
    status, body = await api(client, "POST", "/api/party/rating", csrf, {"score": 9})
    assert status == 422
    assert "score" in body["error"]["fields"]
    status, _ = await api(
        client, "POST", "/api/party/rating", csrf, {"score": 5, "comment": "满意"}
    )
    assert status == 201
    status, body = await api(client, "POST", "/api/party/rating", csrf, {"score": 3})
    assert status == 409
    assert body["error"]["code"] == "error.already_rated"
    assert "5 星：非常满意" in await (await client.get("/my-case")).text()


async def test_leaving_ends_the_party_session(client: Client, world: World) -> None:
    _, token = await file_online(client)
    _, page = await open_link(client, token)
    response = await client.post(
        "/my-case/leave", data={"_csrf": csrf_of(page)}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/my-case/left"
    left = await client.get("/my-case/left")
    assert "您已退出" in await left.text()
    assert (await client.get("/my-case")).status == 404
    # The link still works to come back.
    path, _ = await open_link(client, token)
    assert path == "/my-case"
