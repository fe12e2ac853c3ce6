"""The staff pages, used as a person would: log in through the form, read pages, post forms."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import StaffPrincipal
from server.auth.sessions import staff_principal
from server.db import Case, CaseEvent, FollowUp, Party, Summons
from server.schemas.cases import IntakeRequest, PartyIn, PublicDisputeRequest, RouteRequest
from server.settings import WEB_DIR, Settings
from server.vocabulary import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    Lane,
    NextStep,
    OrgKind,
    Outcome,
    PartyRole,
    Role,
)
from server.workflow import intake, routing, submission
from server.workflow.submission import party_for_token
from tests.world import PASSWORD, World, id_number

Client = TestClient[web.Request, web.Application]
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(page)
    assert found, "the page has no form with a CSRF field"
    return found.group(1)


async def page_login(client: Client, username: str) -> str:
    """Log in through the login form; returns the session's CSRF token (from a staff page)."""
    login_page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "_csrf": csrf_of(await login_page.text()),
            "username": username,
            "password": PASSWORD,
            "next": "/",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    home = await client.get("/")
    assert home.status == 200
    return csrf_of(await home.text())


async def page_logout(client: Client, csrf: str) -> None:
    """Log out through the header's button."""
    response = await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert response.status == 303


async def post(client: Client, path: str, csrf: str, **fields: str | list[str]) -> tuple[int, str]:
    """Post a form without following the redirect; returns status and Location or body."""
    data: list[tuple[str, str]] = [("_csrf", csrf)]
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.append((name, item))
    response = await client.post(path, data=data, allow_redirects=False)
    if response.status == 303:
        return 303, response.headers["Location"]
    return response.status, await response.text()


async def principal(db: AsyncSession, world: World, username: str) -> StaffPrincipal:
    person = world.staff[username]
    await db.refresh(person, ["org"])
    return staff_principal(person)


async def new_case(
    db: AsyncSession,
    world: World,
    settings: Settings,
    *,
    username: str = "lz_clerk",
    title: str = "邻里漏水纠纷",
    applicant: str = "张三",
    dispute_type: DisputeType | None = DisputeType.NEIGHBOUR,
) -> int:
    """A case taken in through the workflow (the caller commits)."""
    case, _ = await intake.intake(
        db,
        await principal(db, world, username),
        IntakeRequest(
            channel=Channel.WALK_IN,
            title=title,
            facts="楼上漏水",
            dispute_type=dispute_type,
            parties=[
                PartyIn(role=PartyRole.APPLICANT, name=applicant, id_number=id_number()),
                PartyIn(role=PartyRole.RESPONDENT, name="李四", phone="13912345678"),
            ],
        ),
        settings.today(),
    )
    return case.id


async def online_submission(
    db: AsyncSession, settings: Settings, title: str = "网购退货纠纷", centre: str = "620602"
) -> int:
    case, _ = await submission.submit(
        db,
        PublicDisputeRequest(
            centre_code=centre, name="陈静", phone="13700002222", title=title, facts="商家拒绝退货"
        ),
        settings.today(),
    )
    return case.id


def section(page: str, section_id: str) -> str:
    """The HTML of one ``<section id=…>`` of a page."""
    start = page.index(f'id="{section_id}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


async def case_status(db: AsyncSession, case_id: int) -> CaseStatus:
    db.expire_all()
    case = await db.get(Case, case_id)
    assert case is not None
    return case.status


# --- Layout and login -------------------------------------------------------------------------


async def test_login_page_in_chinese_and_in_english(client: Client, world: World) -> None:
    response = await client.get("/login")
    page = await response.text()
    assert response.status == 200
    assert '<html lang="zh-CN">' in page
    assert "工作人员登录" in page and "用户名" in page and "密码" in page
    assert 'href="/submit"' in page and "在线申请调解" in page
    assert 'href="/login?lang=en"' in page
    assert "bilin_csrf" in response.cookies
    assert csrf_of(page) == response.cookies["bilin_csrf"].value

    english = await (await client.get("/login?lang=en")).text()
    assert '<html lang="en">' in english
    assert "Staff login" in english and "Username" in english and "Password" in english
    assert "工作人员登录" not in english
    assert 'href="/login?lang=zh-CN"' in english


async def test_visitors_are_sent_to_log_in_and_come_back(client: Client, world: World) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/"
    response = await client.get("/cases?q=%E5%BC%A0", allow_redirects=False)
    assert response.headers["Location"].startswith("/login?next=/cases")


async def test_wrong_password_is_refused_on_the_login_page(client: Client, world: World) -> None:
    login_page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"_csrf": csrf_of(await login_page.text()), "username": "lz_clerk", "password": "x"},
    )
    assert response.status == 401
    page = await response.text()
    assert "用户名或密码错误" in page
    assert 'value="lz_clerk"' in page


async def test_header_shows_the_person_their_nav_and_a_logout_button(
    client: Client, world: World
) -> None:
    csrf = await page_login(client, "lz_clerk")
    page = await (await client.get("/")).text()
    assert "受理窗口工作人员" in page and "凉州区综治中心" in page
    for href in ('href="/"', 'href="/cases"', 'href="/cases/new"', 'href="/dashboard"'):
        assert href in page
    assert 'href="/?lang=en"' in page
    assert 'aria-live="polite"' in page and 'class="skip-link"' in page

    await page_logout(client, csrf)
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303


# --- Work queue -------------------------------------------------------------------------------


async def test_work_queue_shows_a_clerks_waiting_cases(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    await online_submission(db, settings, "网购退货纠纷")
    await new_case(db, world, settings, title="待登记的工资纠纷", dispute_type=None)
    await new_case(db, world, settings, title="待分流的漏水纠纷")
    await new_case(db, world, settings, username="mq_clerk", title="民勤县的土地纠纷")
    await db.commit()

    await page_login(client, "lz_clerk")
    page = await (await client.get("/")).text()
    submitted = section(page, "queue-awaiting-submitted")
    accepted = section(page, "queue-awaiting-accepted")
    registered = section(page, "queue-awaiting-registered")
    assert "网购退货纠纷" in submitted and '<span class="pill">1</span>' in submitted
    assert "待登记的工资纠纷" in accepted and "待登记" in accepted
    assert "待分流的漏水纠纷" in registered and "(20" in registered
    assert "民勤县的土地纠纷" not in page


async def test_supervisor_queue_shows_overdue_and_nearly_due_cases(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    late = await new_case(db, world, settings, title="已超期的纠纷")
    soon = await new_case(db, world, settings, title="快到期的纠纷")
    await new_case(db, world, settings, title="不急的纠纷")
    today = settings.today()
    for case_id, deadline in ((late, today - dt.timedelta(days=1)), (soon, today)):
        case = await db.get(Case, case_id)
        assert case is not None
        case.deadline_on = deadline
    await db.commit()

    await page_login(client, "lz_super")
    page = await (await client.get("/")).text()
    overdue = section(page, "queue-overdue")
    near = section(page, "queue-near_deadline")
    assert "已超期的纠纷" in overdue and "已超期" in overdue and "快到期的纠纷" not in overdue
    assert "快到期的纠纷" in near and "已超期的纠纷" not in near
    assert "不急的纠纷" not in page


async def test_mediator_and_judge_queues_show_what_was_routed_to_them(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    to_room = await new_case(db, world, settings, title="转到老王说理室的纠纷")
    to_court = await new_case(db, world, settings, title="提交法院的纠纷")
    await new_case(db, world, settings, title="还没分流的纠纷")
    clerk = await principal(db, world, "lz_clerk")
    await routing.route(
        db, clerk, to_room, RouteRequest(target="room", org_code="620602-R01", reason="邻里")
    )
    await routing.route(
        db, clerk, to_court, RouteRequest(target="court", org_code="620602-C01", reason="确认")
    )
    await db.commit()

    csrf = await page_login(client, "laowang")
    page = await (await client.get("/")).text()
    assert "转到老王说理室的纠纷" in section(page, "queue-routed_to_me")
    assert "提交法院的纠纷" not in page and "还没分流的纠纷" not in page
    await page_logout(client, csrf)

    await page_login(client, "lz_judge")
    page = await (await client.get("/")).text()
    assert "提交法院的纠纷" in section(page, "queue-court")
    assert "转到老王说理室的纠纷" not in page


# --- Intake form ------------------------------------------------------------------------------


async def test_intake_form_creates_a_case_and_shows_the_links_once(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await page_login(client, "lz_clerk")
    form_page = await (await client.get("/cases/new")).text()
    assert 'name="p3_name"' in form_page  # four party rows without JavaScript
    assert 'value="620602" selected' in form_page  # their own centre by default

    status, page = await post(
        client,
        "/cases/new",
        csrf,
        channel="walk_in",
        centre_code="620602001",
        title="宅基地边界纠纷",
        facts="两家为院墙位置争执",
        claims="确认边界",
        dispute_type="land",
        lane="normal",
        p0_role="applicant",
        p0_name="孙德明",
        p0_id_number=id_number(),
        p0_phone="13912345678",
        p1_role="respondent",
        p1_name="周长青",
        p2_role="agent",
        p2_name="刘律师",
        p2_represents="0",
        p3_role="agent",
    )
    assert status == 200, page
    assert "受理成功" in page and "只显示这一次" in page
    tokens = re.findall(r"http://[^<\"]+/p/([A-Za-z0-9_\-]+)", page)
    assert len(tokens) == 3
    number = re.search(r"\(\d{4}\)凉综调字第\d{4}号", page)
    assert number, "registered at once, so it has a number"

    db.expire_all()
    case = (await db.execute(select(Case).where(Case.title == "宅基地边界纠纷"))).scalar_one()
    assert case.status == CaseStatus.REGISTERED
    assert case.number == number.group(0)
    assert case.dispute_type == DisputeType.LAND
    parties = {p.name: p for p in await _parties(db, case.id)}
    assert set(parties) == {"孙德明", "周长青", "刘律师"}
    assert parties["刘律师"].represents_id == parties["孙德明"].id
    holders = {(await party_for_token(db, token)).name for token in tokens}  # type: ignore[union-attr]
    assert holders == set(parties)

    detail = await (await client.get(f"/cases/{case.id}")).text()
    assert "宅基地边界纠纷" in detail
    assert all(token not in detail for token in tokens)
    assert "13912345678" not in detail and "139****5678" in detail


async def _parties(db: AsyncSession, case_id: int) -> list[Party]:
    return list((await db.execute(select(Party).where(Party.case_id == case_id))).scalars())


async def test_intake_form_with_a_missing_name_keeps_what_was_typed_and_saves_nothing(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await page_login(client, "lz_clerk")
    status, page = await post(
        client,
        "/cases/new",
        csrf,
        channel="hotline",
        centre_code="620602",
        title="拖欠工资纠纷",
        facts="三个月工资未付",
        p0_role="applicant",
        p0_name="",
        p0_phone="13912345678",
        p1_role="respondent",
        p1_name="某建筑公司",
    )
    assert status == 422
    assert "此项必填" in page
    assert 'id="p0_name-error"' in page and 'aria-invalid="true"' in page
    assert 'value="拖欠工资纠纷"' in page and "三个月工资未付" in page
    assert 'value="13912345678"' in page and 'value="某建筑公司"' in page
    assert '<option value="hotline" selected>' in page
    db.expire_all()
    assert (await db.execute(select(func.count(Case.id)))).scalar_one() == 0


async def test_intake_form_without_an_applicant_says_so(client: Client, world: World) -> None:
    csrf = await page_login(client, "lz_clerk")
    status, page = await post(
        client,
        "/cases/new",
        csrf,
        channel="walk_in",
        title="没有申请人",
        p0_role="respondent",
        p0_name="李四",
    )
    assert status == 422
    assert "至少需要一名申请人" in page


async def test_roles_that_cannot_take_disputes_in_get_no_intake_form(
    client: Client, world: World
) -> None:
    await page_login(client, "lz_judge")
    page = await (await client.get("/")).text()
    assert 'href="/cases/new"' not in page
    response = await client.get("/cases/new")
    assert response.status == 403


# --- The case page and its forms --------------------------------------------------------------


async def test_each_action_form_moves_the_case_through_the_workflow(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    case_id = await online_submission(db, settings, "网购退货纠纷")
    other = await online_submission(db, settings, "不属于调解范围的申请")
    await db.commit()
    today = settings.today()
    path = f"/cases/{case_id}"
    laowang, lz_super = world.staff["laowang"].id, world.staff["lz_super"].id

    csrf = await page_login(client, "lz_clerk")
    page = await (await client.get(path)).text()
    assert f'action="{path}/accept"' in page and f'action="{path}/decline"' in page
    assert f'action="{path}/close"' not in page

    assert await post(client, f"/cases/{other}/decline", csrf, reason="属于消费者协会受理范围") == (
        303,
        f"/cases/{other}?done=declined",
    )
    assert await case_status(db, other) == CaseStatus.DECLINED

    assert await post(client, f"{path}/accept", csrf, lane="normal") == (
        303,
        f"{path}?done=accepted",
    )
    page = await (await client.get(f"{path}?done=accepted")).text()
    assert "已受理。" in page and f'action="{path}/register"' in page

    status, body = await post(client, f"{path}/register", csrf, lane="normal")
    assert status == 422 and "此项必填" in body and 'id="register-dispute_type-error"' in body
    assert await case_status(db, case_id) == CaseStatus.ACCEPTED

    assert (await post(client, f"{path}/register", csrf, dispute_type="other"))[0] == 303
    assert await case_status(db, case_id) == CaseStatus.REGISTERED

    page = await (await client.get(path)).text()
    assert f'value="{laowang}"' in page  # the room's mediator is offered
    assert 'value="620621-D01"' not in page  # another county's department is not
    status, body = await post(client, f"{path}/route", csrf, target="mediator", reason="转老王")
    assert status == 422 and "转交调解员时须选择调解员" in body
    assert 'value="转老王"' not in body and "转老王" in body  # the reason typed is kept
    status, location = await post(
        client,
        f"{path}/route",
        csrf,
        target="mediator",
        route_mediator=str(laowang),
        route_room="620602-R01",  # a list the person did not mean: ignored
        reason="邻里纠纷由老王说理室调解",
        lane="fast",
    )
    assert (status, location) == (303, f"{path}?done=routed")
    assert await case_status(db, case_id) == CaseStatus.ROUTED

    respond_by = (today + dt.timedelta(days=3)).isoformat()
    assert (
        await post(
            client,
            f"{path}/consultations",
            csrf,
            topic="请人社局研判",
            department_codes=["620602-D01"],
            respond_by=respond_by,
        )
    )[0] == 303
    await page_logout(client, csrf)

    csrf = await page_login(client, "lz_liaison")
    queue = await (await client.get("/")).text()
    summons = (await db.execute(select(Summons))).scalar_one()
    assert "请人社局研判" in queue and f'action="/summonses/{summons.id}/reply"' in queue
    status, body = await post(client, f"/summonses/{summons.id}/reply", csrf, back="queue")
    assert status == 422 and "此项必填" in body
    assert await post(
        client, f"/summonses/{summons.id}/reply", csrf, response="已核实欠款", back="queue"
    ) == (303, "/?done=reported")
    await page_logout(client, csrf)

    csrf = await page_login(client, "lz_super")
    assert (await post(client, f"{path}/start", csrf))[0] == 303
    assert await case_status(db, case_id) == CaseStatus.MEDIATING
    assert (await post(client, f"{path}/supervision", csrf, note="三日内反馈进展"))[0] == 303
    status, body = await post(client, f"{path}/close", csrf, outcome="not_mediated")
    assert status == 422 and "须选择后续去向" in body
    assert (await post(client, f"{path}/close", csrf, outcome="mediated", note="双方达成协议"))[
        0
    ] == 303
    assert await case_status(db, case_id) == CaseStatus.CLOSED
    assert (await post(client, f"{path}/feedback", csrf, note="已电话告知双方"))[0] == 303
    assert await post(
        client,
        f"{path}/follow-ups",
        csrf,
        due_on=today.isoformat(),
        assignee_id=str(lz_super),
    ) == (303, f"{path}?done=follow_up_scheduled")

    queue = await (await client.get("/")).text()
    assert "网购退货纠纷" in section(queue, "follow-ups")
    visit = (await db.execute(select(FollowUp))).scalar_one()
    assert await post(
        client,
        f"{path}/follow-ups/{visit.id}/result",
        csrf,
        result="holding",
        note="已履行完毕",
    ) == (303, f"{path}?done=follow_up_done")

    db.expire_all()
    visit = (await db.execute(select(FollowUp))).scalar_one()
    assert visit.result == FollowUpResult.HOLDING
    case = await db.get(Case, case_id)
    assert case is not None
    assert case.outcome == Outcome.MEDIATED and case.feedback_note == "已电话告知双方"
    kinds = [
        e.kind
        for e in (await db.execute(select(CaseEvent).where(CaseEvent.case_id == case_id))).scalars()
    ]
    assert kinds == [
        "submitted_online",
        "accepted",
        "registered",
        "routed",
        "consultation_convened",
        "department_reported",
        "mediation_started",
        "supervised",
        "closed",
        "feedback_given",
        "follow_up_scheduled",
        "follow_up_done",
    ]

    page = await (await client.get(f"{path}?done=follow_up_done")).text()
    for sentence in (
        "在线提交调解申请",
        "登记为“其他”",
        "分流转办至调解员“laowang”（速调快处）",
        "召集会商研判，通知 凉州区人社局",
        "凉州区人社局 已报到",
        "开始调解",
        "发出督办",
        "办结，结果：调解成功",
        "向当事人反馈办结情况",
        "于 " + today.isoformat() + " 回访",
        "完成回访：协议正常履行",
        "已登记回访结果。",
    ):
        assert sentence in page, sentence
    assert "已核实欠款" in page and "已报到" in page
    assert not re.search(r"\b(timeline|status|done|action)\.[a-z_]+", page)

    english = await (await client.get(f"{path}?lang=en")).text()
    assert "Closed: Mediated." in english and "Follow-up visit done" in english


async def test_another_countys_supervisor_gets_the_not_found_page(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    case_id = await new_case(db, world, settings, title="凉州区的纠纷")
    await db.commit()
    csrf = await page_login(client, "mq_super")
    theirs = await client.get(f"/cases/{case_id}")
    missing = await client.get("/cases/99999")
    assert theirs.status == missing.status == 404
    page = await theirs.text()
    assert "凉州区的纠纷" not in page
    assert "未找到该内容，或您无权查看。" in page
    # The same page, but for the address in the language links.
    assert page.replace(f"/cases/{case_id}", "#") == (await missing.text()).replace(
        "/cases/99999", "#"
    )
    status, body = await post(client, f"/cases/{case_id}/supervision", csrf, note="越权督办")
    assert status == 404 and "凉州区的纠纷" not in body
    listing = await (await client.get("/cases?q=%E5%BC%A0")).text()
    assert "凉州区的纠纷" not in listing


async def test_a_form_posted_without_csrf_is_refused_and_changes_nothing(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    case_id = await new_case(db, world, settings, dispute_type=None)
    await db.commit()
    await page_login(client, "lz_clerk")
    response = await client.post(
        f"/cases/{case_id}/register", data={"dispute_type": "labour"}, allow_redirects=False
    )
    assert response.status == 403
    assert "表单已过期" in await response.text()
    response = await client.post(
        f"/cases/{case_id}/register",
        data={"_csrf": "forged", "dispute_type": "labour"},
        allow_redirects=False,
    )
    assert response.status == 403
    assert await case_status(db, case_id) == CaseStatus.ACCEPTED


async def test_an_action_the_case_state_does_not_allow_is_a_conflict(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    case_id = await new_case(db, world, settings)
    await db.commit()
    csrf = await page_login(client, "lz_clerk")
    page = await (await client.get(f"/cases/{case_id}")).text()
    assert f'action="/cases/{case_id}/accept"' not in page
    status, body = await post(client, f"/cases/{case_id}/accept", csrf)
    assert status == 409 and "案件当前状态不允许此操作" in body


# --- Case list --------------------------------------------------------------------------------


async def test_list_search_finds_by_party_name_and_by_number_and_paginates(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    ids = [
        await new_case(db, world, settings, title=f"纠纷{i}", applicant=name)
        for i, name in enumerate(("王大爷", "赵小花", "王二小"))
    ]
    await db.commit()
    numbers = {case.id: case.number or "" for case in [await db.get(Case, i) for i in ids] if case}
    await page_login(client, "lz_clerk")

    page = await (await client.get("/cases", params={"q": "王"})).text()
    assert "纠纷0" in page and "纠纷2" in page and "纠纷1" not in page

    page = await (await client.get("/cases", params={"q": numbers[ids[1]]})).text()
    assert "纠纷1" in page and "纠纷0" not in page and "纠纷2" not in page
    assert html.escape(numbers[ids[1]]) in page

    page = await (await client.get("/cases", params={"q": "2"})).text()  # the sequence number
    assert "纠纷1" in page and "纠纷0" not in page

    first = await (await client.get("/cases", params={"limit": "2"})).text()
    assert "纠纷2" in first and "纠纷1" in first and "纠纷0" not in first
    link = re.search(r'href="([^"]+)" rel="next"', first)
    assert link, "a next-page link"
    second = await (await client.get(html.unescape(link.group(1)))).text()
    assert "纠纷0" in second and "纠纷1" not in second and "纠纷2" not in second
    assert 'rel="next"' not in second
    assert "回到第一页" in second

    response = await client.get("/cases", params={"status": "bogus"})
    assert response.status == 422
    assert "不是有效的选项" in await response.text()


async def test_list_filters_by_status_and_overdue(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    late = await new_case(db, world, settings, title="超期案件")
    await new_case(db, world, settings, title="未登记案件", dispute_type=None)
    case = await db.get(Case, late)
    assert case is not None
    case.deadline_on = settings.today() - dt.timedelta(days=1)
    await db.commit()
    await page_login(client, "lz_clerk")
    page = await (await client.get("/cases", params={"overdue": "1"})).text()
    assert "超期案件" in page and "未登记案件" not in page and "已超期" in page
    page = await (await client.get("/cases", params={"status": "accepted"})).text()
    assert "未登记案件" in page and "超期案件" not in page


# --- Translations -----------------------------------------------------------------------------


def test_every_vocabulary_value_is_translated_in_both_languages() -> None:
    for locale in ("zh-CN", "en"):
        common = json.loads((WEB_DIR / "i18n" / locale / "common.json").read_text("utf-8"))
        for prefix, values in (
            ("status", CaseStatus),
            ("dispute_type", DisputeType),
            ("channel", Channel),
            ("lane", Lane),
            ("outcome", Outcome),
            ("next_step", NextStep),
            ("role", Role),
            ("org_kind", OrgKind),
            ("party_role", PartyRole),
            ("follow_up_result", FollowUpResult),
        ):
            for value in values:
                assert f"{prefix}.{value.value}" in common, (locale, prefix, value)


def test_staff_catalogues_hold_the_same_keys() -> None:
    for name in ("common.json", "staff.json"):
        zh = json.loads((WEB_DIR / "i18n" / "zh-CN" / name).read_text("utf-8"))
        en = json.loads((WEB_DIR / "i18n" / "en" / name).read_text("utf-8"))
        assert set(zh) == set(en), name
