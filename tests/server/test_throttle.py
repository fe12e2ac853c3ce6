"""Filing disputes without an account is limited per visitor address, on the page and the API."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.db import Case, ThrottleHit
from server.settings import Settings
from tests.world import World

Client = TestClient  # type: ignore[type-arg]

DISPUTE = {
    "centre_code": "620602",
    "name": "赵六",
    "phone": "13800000000",
    "title": "邻居占用通道",
    "facts": "邻居在楼道堆放杂物。",
}


async def _limited_client(
    settings: Settings, aiohttp_client: Callable[[Any], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_app(settings.with_changes(public_submissions_per_hour=2)))


async def _count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(Case))).scalar_one())


async def test_api_refuses_the_third_dispute_within_the_hour(
    settings: Settings, aiohttp_client: Any, world: World, db: AsyncSession
) -> None:
    client = await _limited_client(settings, aiohttp_client)
    for _ in range(2):
        assert (await client.post("/api/public/disputes", json=DISPUTE)).status == 201
    refused = await client.post("/api/public/disputes", json=DISPUTE)
    assert refused.status == 429
    body = await refused.json()
    assert body["error"]["code"] == "error.rate_limited"
    assert "60 分钟" in body["error"]["message"]
    assert await _count(db) == 2
    # Only an HMAC of the address is kept, never the address itself.
    keys = (await db.execute(select(ThrottleHit.key_hash))).scalars().all()
    assert len(keys) == 2 and all("127.0.0.1" not in key and len(key) == 64 for key in keys)


async def test_failed_submissions_do_not_count(
    settings: Settings, aiohttp_client: Any, world: World, db: AsyncSession
) -> None:
    client = await _limited_client(settings, aiohttp_client)
    for _ in range(3):
        bad = await client.post("/api/public/disputes", json={**DISPUTE, "facts": ""})
        assert bad.status == 422
    assert (await client.post("/api/public/disputes", json=DISPUTE)).status == 201


async def test_the_form_says_to_come_back_later_and_keeps_what_was_typed(
    settings: Settings, aiohttp_client: Any, world: World, db: AsyncSession
) -> None:
    client = await _limited_client(settings, aiohttp_client)
    for _ in range(2):
        assert (await client.post("/api/public/disputes", json=DISPUTE)).status == 201
    page = await (await client.get("/submit")).text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert csrf
    form = {**DISPUTE, "_csrf": csrf.group(1), "consent": "yes", "title": "第三次申请"}
    response = await client.post("/submit", data=form)
    assert response.status == 429
    html = await response.text()
    assert "尝试次数过多，请 60 分钟后再试" in html
    assert "第三次申请" in html
    assert await _count(db) == 2
