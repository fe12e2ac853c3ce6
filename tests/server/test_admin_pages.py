"""The administrator changes time limits; new cases follow them; others may not."""

from __future__ import annotations

import datetime as dt
import re

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.appkeys import SETTINGS
from server.db import DeadlineRule
from tests.world import World, login

Client = TestClient  # type: ignore[type-arg]


async def _page_csrf(client: Client) -> str:
    html = await (await client.get("/admin/deadlines")).text()
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_admin_changes_a_limit_and_new_cases_follow(
    client: Client, world: World, db: AsyncSession
) -> None:
    await login(client, "admin")
    page = await client.get("/admin/deadlines")
    assert page.status == 200
    assert "办结时限设置" in await page.text()
    response = await client.post(
        "/admin/deadlines",
        data={
            "_csrf": await _page_csrf(client),
            "lane": "normal",
            "dispute_type": "labour",
            "days": "10",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    rule = (
        await db.execute(
            select(DeadlineRule).where(
                DeadlineRule.lane == "normal", DeadlineRule.dispute_type == "labour"
            )
        )
    ).scalar_one()
    assert rule.days == 10

    await client.post("/logout", data={"_csrf": await _page_csrf(client)})
    clerk_csrf = await login(client, "lz_clerk")
    response = await client.post(
        "/api/cases",
        json={
            "channel": "hotline",
            "title": "拖欠工资",
            "dispute_type": "labour",
            "parties": [{"role": "applicant", "name": "王五"}],
        },
        headers={"X-CSRF-Token": clerk_csrf},
    )
    case = (await response.json())["case"]
    today = client.server.app[SETTINGS].today()
    assert dt.date.fromisoformat(case["deadline_on"]) == today + dt.timedelta(days=10)


async def test_out_of_range_days_are_refused_and_nothing_changes(
    client: Client, world: World, db: AsyncSession
) -> None:
    await login(client, "admin")
    response = await client.post(
        "/admin/deadlines",
        data={"_csrf": await _page_csrf(client), "lane": "fast", "dispute_type": "", "days": "0"},
    )
    assert response.status == 422
    assert "超出允许的范围" in await response.text()
    fast = (
        await db.execute(
            select(DeadlineRule).where(DeadlineRule.lane == "fast", DeadlineRule.dispute_type == "")
        )
    ).scalar_one()
    assert fast.days == 3


async def test_only_administrators_change_limits(client: Client, world: World) -> None:
    await login(client, "lz_super")
    assert (await client.get("/admin/deadlines")).status == 403
