"""``/api/live/worker``: a page learns where its hearing's room is. One process answers with
itself; only someone with a seat in the hearing gets an answer."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.appkeys import SETTINGS
from tests.server.test_hearings_support import browser, open_link, routed_case, schedule
from tests.world import World, login

Client = TestClient  # type: ignore[type-arg]


async def test_one_process_sends_every_page_to_itself(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    # The mediator (logged in, with a seat) names the hearing.
    response = await client.get(f"/api/live/worker?hearing_id={scheduled.hearing_id}")
    assert response.status == 200, await response.text()
    assert await response.json() == {
        "worker": client.app[SETTINGS].worker_id,
        "socket_path": "/socket.io",
    }


async def test_no_seat_no_answer(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    await login(client, "mq_clerk")  # another county, no seat
    response = await client.get(f"/api/live/worker?hearing_id={scheduled.hearing_id}")
    assert response.status == 404
    # A party's link session answers for its own hearing only, without naming it.
    async with browser(client) as person:
        await open_link(person, scheduled.links["applicant"])
        response = await person.get("/api/live/worker")
        assert response.status == 200
        response = await person.get(f"/api/live/worker?hearing_id={scheduled.hearing_id + 1}")
        assert response.status == 404
        response = await person.get("/api/live/worker?hearing_id=abc")
        assert response.status == 422
