"""The public dispute form: filing a dispute without an account, on both databases."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tokens import token_hash
from server.db import Case, CaseEvent, Party
from server.vocabulary import CaseStatus, Channel, PartyRole
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]

VILLAGE = "620602001001"  # 东关村综治中心, under 东大街街道 under 凉州区


def csrf_of(page: str) -> str:
    """The hidden ``_csrf`` value of the first form on ``page``."""
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def follow_url_of(page: str) -> str:
    """The personal link shown on the confirmation page."""
    found = re.search(r"<code>(http[^<]+/p/[^<]+)</code>", page)
    assert found, "no follow link on the page"
    return html.unescape(found.group(1))


def valid_form(**changes: str) -> dict[str, str]:
    form = {
        "centre_code": VILLAGE,
        "name": "张三",
        "phone": "13800001234",
        "id_number": id_number(),
        "respondent_name": "李四",
        "respondent_phone": "13900005678",
        "title": "楼上漏水造成损失",
        "facts": "2026年3月起楼上卫生间持续漏水，我家天花板受损。",
        "claims": "对方维修并赔偿2000元",
        "consent": "yes",
    }
    form.update(changes)
    return form


async def open_form(client: Client, path: str = "/submit") -> tuple[str, str]:
    """GET the form; returns its HTML and CSRF token."""
    response = await client.get(path)
    assert response.status == 200
    page = await response.text()
    return page, csrf_of(page)


async def post_form(client: Client, form: dict[str, str], csrf: str | None) -> Any:
    data = dict(form)
    if csrf is not None:
        data["_csrf"] = csrf
    return await client.post("/submit", data=data, allow_redirects=False)


async def count_cases(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(Case))).scalar_one())


async def test_form_in_chinese_by_default(client: Client, world: World) -> None:
    page, csrf = await open_form(client)
    assert '<html lang="zh-CN">' in page
    assert "在线申请调解" in page
    assert "个人信息处理说明" in page
    # The double-submit token in the form is the one in the cookie.
    cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert cookies["bilin_csrf"].value == csrf
    # Centres grouped by county, a village listed after its township; departments are not centres.
    assert '<optgroup label="凉州区综治中心">' in page
    assert '<optgroup label="民勤县综治中心">' in page
    township = page.index("东大街街道综治中心")
    assert township < page.index("东关村综治中心") < page.index('<optgroup label="民勤县综治中心">')
    assert "凉州区人社局" not in page
    assert "老王说理室" not in page


async def test_form_in_english(client: Client, world: World) -> None:
    page, _ = await open_form(client, "/submit?lang=en")
    assert '<html lang="en">' in page
    assert "Apply for mediation online" in page
    assert "Your personal information" in page
    assert "在线申请调解" not in page


async def test_centre_can_be_preselected(client: Client, world: World) -> None:
    page, _ = await open_form(client, f"/submit?centre={VILLAGE}")
    assert f'<option value="{VILLAGE}" selected>' in page


async def test_valid_submission_files_a_case_and_shows_the_link_once(
    client: Client, world: World, db: AsyncSession
) -> None:
    village_id = world.orgs[VILLAGE].id
    _, csrf = await open_form(client)
    response = await post_form(client, valid_form(), csrf)
    page = await response.text()
    assert response.status == 200, page
    assert "Location" not in response.headers
    assert "申请已提交" in page
    assert "此链接只显示这一次" in page
    assert "东关村综治中心" in page
    assert '<svg viewBox="0 0' in page and 'class="qr"' in page  # the QR code, drawn here
    follow_url = follow_url_of(page)
    assert page.count(follow_url) == 2  # shown for copying and as the "open" button

    case = (await db.execute(select(Case))).scalar_one()
    assert case.status == CaseStatus.SUBMITTED
    assert case.channel == Channel.ONLINE
    assert case.centre_id == village_id
    assert case.title == "楼上漏水造成损失"
    assert f"<strong>{case.id}</strong>" in page
    parties = (await db.execute(select(Party).order_by(Party.id))).scalars().all()
    assert [(p.role, p.name) for p in parties] == [
        (PartyRole.APPLICANT, "张三"),
        (PartyRole.RESPONDENT, "李四"),
    ]
    assert parties[0].id_number == id_number()
    token = follow_url.rsplit("/p/", 1)[1]
    assert parties[0].link_token_hash == token_hash(token)  # only the hash is kept

    # The link is not shown again: the form page knows nothing of it.
    again, _ = await open_form(client)
    assert token not in again
    # And it works.
    followed = await client.get(f"/p/{token}", allow_redirects=False)
    assert followed.status == 303
    assert followed.headers["Location"] == "/my-case"


async def test_confirmation_in_english(client: Client, world: World) -> None:
    _, csrf = await open_form(client, "/submit?lang=en")
    response = await post_form(client, valid_form(), csrf)
    page = await response.text()
    assert response.status == 200
    assert "Application submitted" in page
    assert "shown only once" in page


# A valid number with its check character changed.
BAD_ID_NUMBER = id_number()[:-1] + ("1" if id_number()[-1] == "0" else "0")

INVALID_CASES = [
    pytest.param({"facts": ""}, "facts", "此项必填", id="missing-facts"),
    pytest.param({"facts": "   "}, "facts", "此项必填", id="blank-facts"),
    pytest.param({"id_number": BAD_ID_NUMBER}, "id_number", "身份证号码格式不正确", id="bad-id"),
    pytest.param({"centre_code": "999999"}, "centre_code", "请从列表中选择", id="unknown-centre"),
    pytest.param(
        {"centre_code": "620602-D01"}, "centre_code", "请从列表中选择", id="department-not-centre"
    ),
    pytest.param({"title": "长" * 201}, "title", "最多 200 个字符", id="oversized-title"),
    pytest.param({"facts": "长" * 10_001}, "facts", "最多 10000 个字符", id="oversized-facts"),
    pytest.param({"phone": "call me"}, "phone", "请填写正确的电话号码", id="bad-phone"),
    pytest.param({"consent": ""}, "consent", "勾选同意", id="no-consent"),
]


@pytest.mark.parametrize(("changes", "field", "message"), INVALID_CASES)
async def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_saved(
    client: Client,
    world: World,
    db: AsyncSession,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    _, csrf = await open_form(client)
    form = valid_form(**changes)
    response = await post_form(client, form, csrf)
    page = await response.text()
    assert response.status == 422, page
    error = re.search(rf'<p class="field-error" id="f-{field}-error">(.*?)</p>', page, re.S)
    assert error, f"no message next to {field}"
    assert message in error.group(1)
    assert f'href="#f-{field}"' in page  # and listed in the summary, linking to the field
    assert 'aria-invalid="true"' in page
    # What was typed is kept (other than the field at fault, which may be huge).
    assert 'value="张三"' in page
    assert "对方维修并赔偿2000元" in page
    assert await count_cases(db) == 0
    assert (await db.execute(select(func.count()).select_from(CaseEvent))).scalar_one() == 0


async def test_several_errors_at_once(client: Client, world: World, db: AsyncSession) -> None:
    _, csrf = await open_form(client)
    response = await post_form(
        client, valid_form(name="", facts="", centre_code="", consent=""), csrf
    )
    page = await response.text()
    assert response.status == 422
    assert "有 4 处需要修改" in page
    for field in ("centre_code", "name", "facts", "consent"):
        assert f'id="f-{field}-error"' in page
    assert await count_cases(db) == 0


async def test_form_without_csrf_is_refused(client: Client, world: World, db: AsyncSession) -> None:
    await open_form(client)
    response = await post_form(client, valid_form(), csrf=None)
    assert response.status == 403
    assert "表单已过期" in await response.text()
    wrong = await post_form(client, valid_form(), csrf="not-the-token")
    assert wrong.status == 403
    assert await count_cases(db) == 0


async def test_a_logged_in_staff_member_can_use_the_form(client: Client, world: World) -> None:
    """With a session, the form carries the session's token instead of the anonymous one."""
    token = await login(client, "lz_clerk")
    _, csrf = await open_form(client)
    assert csrf == token
    response = await post_form(client, valid_form(), csrf)
    assert response.status == 200
