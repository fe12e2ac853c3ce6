"""The dashboard page: figures, charts and tables, the form, languages, scope and roles."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.server.test_stats import seed_cases
from tests.world import World, login

H1_2022 = "/dashboard?org=620600&from=2022-01-01&to=2022-06-30"


def _text(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_page_shows_the_figures_as_charts_and_tables(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    await seed_cases(db, world)
    await login(client, "city_super")
    response = await client.get(H1_2022, headers={"Accept-Language": "zh-CN"})
    assert response.status == 200
    html = await response.text()
    text = _text(html)
    assert "统计分析" in text and "武威市综治中心" in text
    assert "2022-01-01 至 2022-06-30" in text
    # Headline figures: 8 accepted, 3 mediated (37.5%), 2 open overdue and 2 closed late,
    # 16.6 days on average, satisfaction 3.25 from 4 ratings.
    assert re.search(r"受理 8 件", text)
    assert "37.5%" in text and "3 / 8" in text
    assert "另有超期办结 2 件" in text
    assert "16.6" in text and "已办结 5 件" in text
    assert "3.25" in text and "共 4 条评价" in text
    # Charts drawn on the server, each labelled, and the same numbers in tables.
    charts = re.findall(r"<svg class=\"chart\"[^>]*>", html)
    assert len(charts) == 4
    assert all('role="img"' in c and "aria-labelledby" in c for c in charts)
    assert html.count("<title id=") == 4 and html.count("<desc id=") == 4
    assert re.search(r"<th scope=\"row\">邻里纠纷</th><td class=\"num\">2</td>"
                     r"<td class=\"num\">25.0%</td>", html)  # fmt: skip
    assert re.search(r"尚未登记类型</th><td class=\"num\">1</td><td class=\"num\">12.5%", html)
    assert re.search(r"乡镇（街道）综治中心</th><td class=\"num\">3</td>"
                     r"<td class=\"num\">37.5%</td>", html)  # fmt: skip
    assert re.search(r"速调快处</th><td class=\"num\">2</td><td class=\"num\">25.0%", html)
    assert re.search(r"<th scope=\"row\">2022-03</th><td class=\"num\">2</td>"
                     r"<td class=\"num\">1</td><td class=\"num\">50.0%</td>", html)  # fmt: skip
    # The counties, each linking to its own dashboard for the same period, then the city itself.
    assert 'href="/dashboard?from=2022-01-01&amp;to=2022-06-30&amp;org=620602"' in html
    assert "民勤县综治中心" in text and "武威市综治中心（本级办理）" in text
    assert "统计口径" in text
    assert 'href="/static/css/dashboard.css"' in html
    assert "style=" not in html  # the CSP forbids inline styles


async def test_page_form_presets_and_defaults(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    await seed_cases(db, world)
    await login(client, "lz_super")
    response = await client.get("/dashboard?period=h1_2022", headers={"Accept-Language": "zh-CN"})
    assert response.status == 200
    html = await response.text()
    assert 'value="2022-01-01"' in html and 'value="2022-06-30"' in html
    assert re.search(r'value="h1_2022"[^>]*aria-current="true"', html)
    # Only the county and what is below it can be chosen, indented by level.
    options = re.findall(r"<option value=\"([^\"]+)\"[^>]*>([^<]*)</option>", html)
    assert [code for code, _ in options] == ["620602", "620602001", "620602001001"]
    assert options[2][1].startswith("\u3000\u3000")
    assert "受理 5 件" in _text(html)

    default = await client.get("/dashboard")
    assert default.status == 200
    assert re.search(r'value="this_year"[^>]*aria-current="true"', await default.text())


async def test_page_in_english(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await login(client, "admin")
    response = await client.get("/dashboard?lang=en&from=2022-01-01&to=2022-06-30")
    assert response.status == 200
    text = _text(await response.text())
    assert "Statistics" in text and "Success rate" in text and "Definitions" in text
    assert "No cases were accepted in this period." in text


async def test_page_bad_input_and_scope(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await login(client, "lz_super")
    reversed_ = await client.get(
        "/dashboard?from=2022-06-30&to=2022-01-01", headers={"Accept-Language": "zh-CN"}
    )
    assert reversed_.status == 422
    html = await reversed_.text()
    assert "结束日期不能早于开始日期" in html and 'aria-invalid="true"' in html
    assert "<svg" not in html

    bad_date = await client.get("/dashboard?from=2022-02-30")
    assert bad_date.status == 422

    for code in ("620621", "620600", "nope"):
        response = await client.get(f"/dashboard?org={code}")
        assert response.status == 404, code


async def test_page_is_for_centre_staff(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    anonymous = await client.get(H1_2022, allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"].startswith("/login?next=")
    for username in ("laowang", "lz_court_clerk"):
        await login(client, username)
        response = await client.get("/dashboard")
        assert response.status == 403, username
        assert "<svg" not in await response.text()
