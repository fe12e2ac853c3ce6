"""The staff pages of hearings: scheduling by form, the hearing page with links shown once as a
URL and a QR code, revoking from the page, and a staff participant joining directly."""

from __future__ import annotations

import html as html_lib
import re

import segno
from aiohttp.test_utils import TestClient

from server.hearings.qr import QR_ERROR_LEVEL
from tests.server.test_hearings_support import browser, open_link, path_of, routed_case, schedule
from tests.world import World, login

Client = TestClient  # type: ignore[type-arg]


def qr_modules(svg: str) -> list[list[bool]]:
    """The dark modules drawn by a segno SVG path (``M x y``, then ``h`` runs and ``m`` moves,
    one row per unit, inside a 4-module quiet zone)."""
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    scale = re.search(r"scale\((\d+)\)", svg)
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg)
    assert box and scale and path
    size = int(box.group(1)) // int(scale.group(1)) - 8
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, args in re.findall(r"([Mmh])([-\d. ]+)", path.group(1)):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            for column in range(int(x), int(x + numbers[0])):
                grid[int(y) - 4][column - 4] = True
            x += numbers[0]
    return grid


async def test_scheduling_by_form_then_issuing_links_with_qr_codes(
    client: Client, world: World
) -> None:
    case = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    form = await client.get(f"/cases/{case.id}/hearings/new")
    assert form.status == 200
    page = await form.text()
    assert "张三" in page and "lz_judge" in page  # the parties and the court's judge are offered
    response = await client.post(
        f"/cases/{case.id}/hearings/new",
        data={
            "_csrf": csrf,
            "kind": "mediation",
            "date": "2099-01-01",
            "time": "09:30",
            "duration": "90",
            "party": [str(case.applicant_id), str(case.respondent_id)],
            "staff": [str(world.staff["lz_mediator"].id), str(world.staff["lz_judge"].id)],
            f"seat_{world.staff['lz_mediator'].id}": "mediator",
            f"seat_{world.staff['lz_judge'].id}": "judge",
            "guest_name_0": "东关村调解室",
            "guest_role_0": "observer",
            "guest_group_0": "1",
            "guest_headcount_0": "4",
        },
        allow_redirects=False,
    )
    assert response.status == 422, "2099 is more than a year ahead"
    assert "开始时间" in await response.text()
    import datetime as dt

    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    response = await client.post(
        f"/cases/{case.id}/hearings/new",
        data={
            "_csrf": csrf,
            "kind": "mediation",
            "date": tomorrow,
            "time": "09:30",
            "duration": "90",
            "party": [str(case.applicant_id), str(case.respondent_id)],
            "staff": [str(world.staff["lz_mediator"].id), str(world.staff["lz_judge"].id)],
            f"seat_{world.staff['lz_mediator'].id}": "mediator",
            f"seat_{world.staff['lz_judge'].id}": "judge",
            "guest_name_0": "东关村调解室",
            "guest_role_0": "observer",
            "guest_group_0": "1",
            "guest_headcount_0": "4",
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    hearing_path = location.split("?")[0]
    page = await (await client.get(location)).text()
    assert "东关村调解室" in page and "（4 人）" in page
    assert "未生成" in page and "/join/" not in page
    assert "09:30" in page

    # Issuing shows every link once, as a URL and a QR code of that URL.
    response = await client.post(f"{hearing_path}/links", data={"_csrf": csrf})
    assert response.status == 200
    page = await response.text()
    urls = [html_lib.unescape(u) for u in re.findall(r'value="(http://[^"]+/join/[^"]+)"', page)]
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(urls) == len(svgs) == 5
    for url, svg in zip(urls, svgs, strict=True):
        expected = segno.make(url, error=QR_ERROR_LEVEL, micro=False)
        assert qr_modules(svg) == [[bool(m) for m in row] for row in expected.matrix]
    # Not shown again on the next visit: reissue to show again.
    again = await (await client.get(hearing_path)).text()
    assert "/join/" not in again and "重新生成</button>" in again
    # The issued links work.
    async with browser(client) as person:
        await open_link(person, urls[0])


async def test_revoking_from_the_page(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    csrf = await login(client, "lz_mediator")
    seat = scheduled.seats["respondent"]
    response = await client.post(
        f"/hearings/{scheduled.hearing_id}/participants/{seat}/revoke",
        data={"_csrf": csrf},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "已撤回" in page
    async with browser(client) as person:
        response = await person.get(path_of(scheduled.links["respondent"]))
        assert response.status == 404


async def test_hearing_pages_follow_case_scope(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    async with browser(client) as stranger:
        response = await stranger.get(f"/hearings/{scheduled.hearing_id}", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")
    for username, status in (("mq_super", 404), ("laowang", 404), ("lz_super", 200)):
        await login(client, username)
        response = await client.get(f"/hearings/{scheduled.hearing_id}")
        assert response.status == status, username
        response = await client.get(f"/cases/{case.id}/hearings")
        assert response.status == status, username
    # In scope but not a scheduling role: the page, without the link buttons.
    await login(client, "lz_clerk")
    page = await (await client.get(f"/hearings/{scheduled.hearing_id}")).text()
    assert "/links" not in page and "/revoke" not in page
    csrf = await login(client, "lz_clerk")
    response = await client.post(
        f"/hearings/{scheduled.hearing_id}/links", data={"_csrf": csrf}, allow_redirects=False
    )
    assert response.status == 403


async def test_a_staff_participant_joins_directly_when_logged_in(
    client: Client, world: World
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    await login(client, "lz_judge")
    response = await client.get(f"/hearings/{scheduled.hearing_id}/join")
    page = await response.text()
    assert response.status == 200
    assert "法官" in page and 'data-step="device_check"' in page
    assert 'data-step="identity"' not in page
    # Their own invitation link, opened while logged in, keeps them logged in.
    response = await client.get(path_of(scheduled.links["judge"]), allow_redirects=False)
    assert response.headers["Location"] == f"/hearings/{scheduled.hearing_id}/join"
    assert (await client.get(f"/api/cases/{case.id}")).status == 200
    # Someone in scope who holds no seat has nothing to join.
    await login(client, "lz_super")
    assert (await client.get(f"/hearings/{scheduled.hearing_id}/join")).status == 404
    # Nobody without a session or a link reaches /join.
    async with browser(client) as stranger:
        assert (await stranger.get("/join")).status == 404


def test_the_access_log_never_holds_a_link_token() -> None:
    import logging

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from server.hearings.access_log import RedactingAccessLogger

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.access")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    access = RedactingAccessLogger(logger, "%r %s")
    token = "XezycZtNdmf8swCNoXygBF3ue-_Uw61t"
    for path in (f"/join/{token}", f"/p/{token}?lang=en", "/hearings/3"):
        access.log(make_mocked_request("GET", path), web.Response(status=303), 0.01)
    assert token not in "\n".join(lines)
    assert lines[0].startswith("GET /join/*** ") and lines[2].startswith("GET /hearings/3 ")
