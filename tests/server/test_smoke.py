"""First end-to-end check of the API on both databases."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.world import World, id_number, login


async def test_healthz(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_intake_and_list(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    csrf = await login(client, "lz_clerk")
    response = await client.post(
        "/api/cases",
        json={
            "channel": "walk_in",
            "title": "邻里漏水纠纷",
            "facts": "楼上漏水",
            "dispute_type": "neighbour",
            "parties": [
                {"role": "applicant", "name": "张三", "id_number": id_number()},
                {"role": "respondent", "name": "李四"},
            ],
        },
        headers={"X-CSRF-Token": csrf},
    )
    body = await response.json()
    assert response.status == 201, body
