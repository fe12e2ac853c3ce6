"""Bad input on every API call: each is refused with a clear message in the person's language
(zh-CN by default, English on request), per-field messages, and nothing half-saved."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.routes import api
from tests.server.test_workflow import Client, act_as, call, dispute, online_dispute, scalar
from tests.world import World

COUNTED = ("cases", "parties", "case_events", "routings", "consultations", "summonses")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def counts(db: AsyncSession) -> dict[str, int]:
    """Rows per table, to show a refused request saved nothing."""
    sql = "SELECT count(*) FROM {}"
    return {table: int(await scalar(db, sql.format(table))) for table in COUNTED}


def assert_clear(body: Any, *, chinese: bool = True) -> None:
    """An error body whose every message is a sentence, not a key, in the expected language."""
    error = body["error"]
    texts = [error["message"], *error.get("fields", {}).values()]
    for message in texts:
        assert not re.match(r"^(error|field)\.", message), message
        assert bool(CHINESE.search(message)) == chinese, message


async def post_raw(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    data: bytes | str,
    content_type: str,
    csrf: str | None,
    method: str = "POST",
    **headers: str,
) -> tuple[int, Any]:
    """Send a body exactly as given (POST unless told otherwise)."""
    sent = {"Content-Type": content_type, **headers}
    if csrf is not None:
        sent["X-CSRF-Token"] = csrf
    response = await client.request(method, path, data=data, headers=sent)
    return response.status, await response.json()


async def test_every_operation_with_a_body_refuses_malformed_bodies(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await act_as(client, "admin")
    status, created = await call(client, "POST", "/api/cases", csrf, dispute())
    assert status == 201
    party_link = next(iter(created["party_links"].values()))
    before = await counts(db)
    operations = [op for op in api.operations if op.body is not None]
    assert len(operations) >= 14
    for op in operations:
        if op.auth == "party":
            client.session.cookie_jar.clear()
            response = await client.get(
                "/p/" + party_link.split("/p/", 1)[1], allow_redirects=False
            )
            assert response.status in (302, 303)
            token = await scalar(
                db, "SELECT csrf_token FROM web_sessions WHERE party_id IS NOT NULL"
            )
        else:
            token = await act_as(client, "admin")
        path = re.sub(r"\{\w+\}", str(created["case"]["id"]), op.path)
        label = f"{op.method} {op.path}"

        status, body = await post_raw(
            client, path, '{"title": ', "application/json", token, op.method
        )
        assert status == 422, label
        assert body["error"]["fields"] == {"body": "请求内容不是有效的 JSON。"}, label

        status, body = await post_raw(client, path, "title=x", "text/plain", token, op.method)
        assert status in (403, 422), label  # 403: a cross-site form needs no JSON check
        if status == 422:
            assert body["error"]["fields"] == {
                "body": "请求内容须为 JSON（Content-Type: application/json）。"
            }, label

        status, body = await post_raw(client, path, "[1, 2]", "application/json", token, op.method)
        assert status == 422, label
        assert list(body["error"]["fields"]) == ["body"], label

        status, body = await post_raw(
            client, path, "[" * 100_000, "application/json", token, op.method
        )
        assert status == 422, label
        assert body["error"]["fields"] == {"body": "请求内容不是有效的 JSON。"}, label

        status, body = await post_raw(
            client, path, '{"is_admin": true}', "application/json", token, op.method
        )
        assert status == 422, label
        assert body["error"]["fields"]["is_admin"] == "不允许的字段。", label
        assert_clear(body)

        status, body = await post_raw(
            client, path, "{}", "application/json", token, op.method, **{"Accept-Language": "en"}
        )
        if status == 422:
            assert_clear(body, chinese=False)
        else:  # every field optional: then it fails later, still in English
            assert status in (200, 201, 403, 404, 409), label
    client.session.cookie_jar.clear()
    assert await counts(db) == before


async def test_intake_field_errors(client: Client, world: World, db: AsyncSession) -> None:
    csrf = await act_as(client, "lz_clerk")
    before = await counts(db)

    async def refused(body: dict[str, Any], **headers: str) -> dict[str, str]:
        status, answer = await call(client, "POST", "/api/cases", csrf, body, **headers)
        assert status == 422, answer
        assert answer["error"]["code"] == "error.invalid_input"
        assert_clear(answer, chinese="Accept-Language" not in headers)
        return dict(answer["error"]["fields"])

    assert await refused({}) == {
        "channel": "此项必填。",
        "title": "此项必填。",
        "parties": "此项必填。",
    }
    # Wrong types.
    fields = await refused(dispute(title=123, parties="张三", lane=["fast"]))
    assert fields == {
        "title": "格式不正确。",
        "parties": "格式不正确。",
        "lane": "不是有效的选项。",
    }
    # Unknown enum values.
    fields = await refused(dispute(channel="fax", dispute_type="murder"))
    assert fields == {"channel": "不是有效的选项。", "dispute_type": "不是有效的选项。"}
    # Over the limits.
    fields = await refused(
        dispute(
            title="长" * 201,
            facts="x" * 10_001,
            claims="x" * 5_001,
            centre_code="6" * 33,
        )
    )
    assert fields == {
        "title": "最多 200 个字符。",
        "facts": "最多 10000 个字符。",
        "claims": "最多 5000 个字符。",
        "centre_code": "最多 32 个字符。",
    }
    fields = await refused(dispute(parties=[{"role": "applicant", "name": "张三"}] * 21))
    assert fields == {"parties": "最多 20 项。"}
    fields = await refused(dispute(parties=[]))
    assert fields == {"parties": "至少 1 项。"}
    fields = await refused(dispute(title="   "))
    assert fields == {"title": "至少 1 个字符。"}
    # Parties, field by field.
    fields = await refused(
        dispute(
            parties=[
                {"role": "applicant", "name": "张三", "id_number": "620602199001011234"},
                {"role": "respondent", "name": "", "phone": "abc"},
                {"role": "judge", "name": "王五", "nickname": "老王"},
            ]
        )
    )
    assert fields == {
        "parties.0.id_number": "身份证号码格式不正确。",
        "parties.1.name": "至少 1 个字符。",
        "parties.1.phone": "格式不正确。",
        "parties.2.role": "不是有效的选项。",
        "parties.2.nickname": "不允许的字段。",
    }
    # Whole-body rules come back under "body", with their own message.
    assert await refused(dispute(parties=[{"role": "respondent", "name": "李四"}])) == {
        "body": "至少需要一名申请人。"
    }
    agent_alone = [{"role": "applicant", "name": "张三"}, {"role": "agent", "name": "律师"}]
    assert await refused(dispute(parties=agent_alone)) == {
        "body": "代理人须注明所代理的申请人或被申请人。"
    }
    agent_of_agent = [
        {"role": "applicant", "name": "张三"},
        {"role": "agent", "name": "律师甲", "represents": 2},
        {"role": "agent", "name": "律师乙", "represents": 1},
    ]
    assert await refused(dispute(parties=agent_of_agent)) == {
        "body": "代理人须注明所代理的申请人或被申请人。"
    }
    respondent_representing = [
        {"role": "applicant", "name": "张三"},
        {"role": "respondent", "name": "李四", "represents": 0},
    ]
    assert await refused(dispute(parties=respondent_representing)) == {
        "body": "只有代理人才填写所代理的当事人。"
    }
    # Characters a database cannot (or should not) store.
    fields = await refused(dispute(title="漏水\x00纠纷", facts="a\x1bb"))
    assert fields == {"title": "含有不允许的控制字符。", "facts": "含有不允许的控制字符。"}
    # The same in English.
    fields = await refused(dispute(parties=[], channel="fax"), **{"Accept-Language": "en"})
    assert fields == {"channel": "Not a valid choice.", "parties": "At least 1 item(s)."}
    status, answer = await call(client, "POST", "/api/cases?lang=en", csrf, dispute(title=""))
    assert status == 422
    assert answer["error"]["message"] == (
        "Some of what was entered is not right; check the marked fields."
    )
    assert answer["error"]["fields"] == {"title": "At least 1 characters."}
    # The language chosen with ?lang= sticks (cookie) until changed.
    _, answer = await call(client, "POST", "/api/cases", csrf, {})
    assert answer["error"]["fields"]["title"] == "This field is required."
    _, answer = await call(client, "POST", "/api/cases?lang=zh-CN", csrf, {})
    assert answer["error"]["fields"]["title"] == "此项必填。"

    assert await counts(db) == before


async def test_workflow_calls_field_errors(client: Client, world: World, db: AsyncSession) -> None:
    csrf = await act_as(client, "lz_super")
    status, created = await call(client, "POST", "/api/cases", csrf, dispute())
    case_id = created["case"]["id"]
    before = await counts(db)
    checks: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("register", {"dispute_type": "theft"}, {"dispute_type": "不是有效的选项。"}),
        (
            "route",
            {"target": "police", "reason": "x", "org_code": "1"},
            {"target": "不是有效的选项。"},
        ),
        ("route", {"target": "mediator", "reason": "x"}, {"body": "转交调解员时须选择调解员。"}),
        ("route", {"target": "room", "reason": "x"}, {"body": "请选择接收单位。"}),
        (
            "route",
            {"target": "centre", "org_code": "620602", "reason": ""},
            {"reason": "至少 1 个字符。"},
        ),
        (
            "route",
            {"target": "mediator", "mediator_id": 10**30, "reason": "x"},
            {"mediator_id": "超出允许的范围。"},
        ),
        (
            "route",
            {"target": "mediator", "mediator_id": "abc", "reason": "x"},
            {"mediator_id": "格式不正确。"},
        ),
        (
            "route",
            {"target": "mediator", "mediator_id": world.staff["lz_judge"].id, "reason": "x"},
            {"mediator_id": "没有这名调解员，或您无权转交给他。"},
        ),
        (
            "route",
            {"target": "room", "org_code": "620602-D01", "reason": "x"},
            {"org_code": "没有这个单位，或您无权选择。"},
        ),
        ("supervision", {"note": "x" * 2_001}, {"note": "最多 2000 个字符。"}),
        (
            "supervision",
            {"note": "督办", "respond_by": "2026-02-30"},
            {"respond_by": "请输入有效日期（YYYY-MM-DD）。"},
        ),
        (
            "consultations",
            {"topic": "会商", "department_codes": [], "respond_by": "2099-01-01"},
            {"department_codes": "至少 1 项。"},
        ),
        (
            "consultations",
            {"topic": "会商", "department_codes": ["620602-D01"] * 11, "respond_by": "2099-01-01"},
            {"department_codes": "最多 10 项。"},
        ),
        (
            "consultations",
            {"topic": "会商", "department_codes": ["620602-R01"], "respond_by": "2099-01-01"},
            {"department_codes.0": "没有这个单位，或您无权选择。"},
        ),
        ("close", {"outcome": "won"}, {"outcome": "不是有效的选项。"}),
        (
            "close",
            {"outcome": "not_mediated", "next_step": "prayer"},
            {"next_step": "不是有效的选项。"},
        ),
        ("feedback", {"note": ""}, {"note": "至少 1 个字符。"}),
        ("follow-ups", {"due_on": "next week"}, {"due_on": "请输入有效日期（YYYY-MM-DD）。"}),
        (
            "follow-ups",
            {"due_on": "2099-01-01", "assignee_id": 0},
            {"assignee_id": "超出允许的范围。"},
        ),
        ("decline", {"reason": "x" * 1_001}, {"reason": "最多 1000 个字符。"}),
        ("accept", {"lane": "slow"}, {"lane": "不是有效的选项。"}),
    ]
    for action, body, expected in checks:
        status, answer = await call(client, "POST", f"/api/cases/{case_id}/{action}", csrf, body)
        assert status == 422, (action, body, answer)
        assert answer["error"]["fields"] == expected, (action, body)
        assert_clear(answer)
    assert await counts(db) == before


async def test_public_form_field_errors_and_unknown_centre(
    client: Client, world: World, db: AsyncSession
) -> None:
    before = await counts(db)
    status, answer = await call(client, "POST", "/api/public/disputes", None, {})
    assert status == 422
    assert set(answer["error"]["fields"]) == {"centre_code", "name", "phone", "title", "facts"}
    status, answer = await call(
        client,
        "POST",
        "/api/public/disputes",
        None,
        online_dispute(centre_code="620602-D01", phone="12", id_number="123"),
    )
    assert status == 422
    assert answer["error"]["fields"] == {
        "phone": "至少 5 个字符。",
        "id_number": "身份证号码格式不正确。",
    }
    status, answer = await call(
        client, "POST", "/api/public/disputes", None, online_dispute(centre_code="620602-D01")
    )
    assert status == 422
    assert answer["error"]["fields"] == {"centre_code": "没有这个单位，或您无权选择。"}
    status, answer = await call(
        client,
        "POST",
        "/api/public/disputes",
        None,
        online_dispute(centre_code="nowhere"),
        **{"Accept-Language": "en-US,en;q=0.9"},
    )
    assert answer["error"]["fields"] == {
        "centre_code": "No such organisation, or not one you may choose."
    }
    assert await counts(db) == before


BAD_PATHS = (
    "/api/cases/abc",
    "/api/cases/-1",
    "/api/cases/1.5",
    "/api/cases/0",
    "/api/cases/99999999999",
    "/api/cases/2147483648",
    "/api/cases/%C2%B2",
    "/api/cases/%D9%A1",
    "/api/cases/1/timeline/extra",
    "/api/nothing-here",
)


async def test_bad_path_ids_are_not_found(client: Client, world: World) -> None:
    await act_as(client, "admin")
    for path in BAD_PATHS:
        status, answer = await call(client, "GET", path)
        assert status == 404, (path, answer)
        assert answer["error"] == {
            "code": "error.not_found",
            "message": "未找到该内容，或您无权查看。",
        }


async def test_bad_path_ids_on_actions(client: Client, world: World) -> None:
    csrf = await act_as(client, "admin")
    for path, body in [
        ("/api/cases/abc/close", {"outcome": "mediated"}),
        ("/api/summonses/abc/reply", {"response": "x"}),
        ("/api/follow-ups/9999999999999/result", {"result": "holding"}),
        ("/api/cases/2147483647/start", None),
    ]:
        status, answer = await call(client, "POST", path, csrf, body)
        assert status == 404, (path, answer)


async def test_body_over_256_kib_is_refused(client: Client, world: World, db: AsyncSession) -> None:
    csrf = await act_as(client, "lz_clerk")
    before = await counts(db)
    huge = dispute(facts="纠" * 100_000)  # 300 KB in UTF-8
    status, answer = await call(client, "POST", "/api/cases", csrf, huge)
    assert status == 413
    assert answer["error"] == {"code": "error.too_large", "message": "提交的内容过大。"}
    status, answer = await call(
        client, "POST", "/api/public/disputes", None, online_dispute(facts="x" * 300_000)
    )
    assert status == 413
    status, answer = await call(client, "POST", "/api/cases?lang=en", csrf, huge)
    assert answer["error"]["message"] == "What was submitted is too large."
    assert await counts(db) == before


async def test_csrf_missing_or_wrong_saves_nothing(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await act_as(client, "lz_clerk")
    before = await counts(db)
    for token in (None, "", "wrong-token", csrf + "x"):
        status, answer = await call(client, "POST", "/api/cases", token, dispute())
        assert status == 403, token
        assert answer["error"] == {
            "code": "error.csrf",
            "message": "表单已过期或来源不明，请刷新页面后重试。",
        }
    # Another account's token is wrong too.
    other = await act_as(client, "lz_super")
    await act_as(client, "lz_clerk")
    assert (await call(client, "POST", "/api/cases", other, dispute()))[0] == 403
    # A form post (what a cross-site page could send) is held to the same token.
    response = await client.post("/api/cases", data={"title": "x"})
    assert response.status == 403
    response = await client.post("/logout", data={"_csrf": "wrong"})
    assert response.status == 403
    assert "text/html" in response.headers["Content-Type"]
    assert await counts(db) == before
    # The session survived all of that.
    assert (await call(client, "GET", "/api/me"))[0] == 200


async def test_lang_parameter_is_not_a_filter_and_wrong_methods_get_json(
    client: Client, world: World
) -> None:
    csrf = await act_as(client, "admin")
    status, listed = await call(client, "GET", "/api/cases?lang=en&status=open")
    assert status == 422  # "open" is no status; the message is in the language asked for
    assert listed["error"]["fields"] == {"status": "Not a valid choice."}
    status, listed = await call(client, "GET", "/api/cases?lang=en")
    assert status == 200, listed
    status, answer = await call(client, "GET", "/api/cases?colour=red")
    assert status == 422
    assert answer["error"]["fields"] == {"colour": "Field not allowed."}
    response = await client.delete("/api/cases", headers={"X-CSRF-Token": csrf})
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json())["error"] == {
        "code": "error.method_not_allowed",
        "message": "This address does not accept that request method.",
    }
