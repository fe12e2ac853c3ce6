"""``bilin demo-session``, run as a real command: one JSON object whose links open the join page."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from aiohttp.test_utils import TestClient

from server.settings import Settings
from tests.server.test_hearings_support import browser, open_link
from tests.world import World

Client = TestClient  # type: ignore[type-arg]
ROLES = {"mediator": "调解员", "applicant": "申请人", "respondent": "被申请人", "judge": "法官"}


async def demo_session(settings: Settings) -> tuple[dict[str, Any], str]:
    env = {
        **os.environ,
        "BILIN_ENV": "test",
        "BILIN_DATA_DIR": str(settings.data_dir),
        "BILIN_DATABASE_URL": settings.database_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "demo-session",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode()), err.decode()


async def test_demo_session_prints_links_that_open_the_join_page(
    client: Client, settings: Settings
) -> None:
    printed, err = await demo_session(settings)
    assert set(printed) == {"case_id", "session_id", "links"}
    assert isinstance(printed["case_id"], int) and isinstance(printed["session_id"], int)
    assert set(printed["links"]) == set(ROLES)
    # Without the Wuwei demo loaded it made its own accounts, and said so on stderr only.
    assert "demo_mediator" in err and "demo_judge" in err
    for role, url in printed["links"].items():
        assert url.startswith(settings.base_url + "/join/")
        async with browser(client) as person:
            await open_link(person, url)
            info = await (await person.get("/api/join")).json()
            assert info["role"] == role
            assert info["hearing_id"] == printed["session_id"]
            assert info["case_id"] == printed["case_id"]
            page = await (await person.get("/join")).text()
            assert ROLES[role] in page
    # A second call makes another hearing; the first one's links keep working.
    again, err = await demo_session(settings)
    assert again["session_id"] != printed["session_id"] and "created demo account" not in err
    async with browser(client) as person:
        await open_link(person, printed["links"]["applicant"])


async def test_demo_session_uses_the_wuwei_accounts_when_present(
    client: Client, settings: Settings, world: World
) -> None:
    printed, err = await demo_session(settings)
    assert "created demo account" not in err
    async with browser(client) as person:
        await open_link(person, printed["links"]["mediator"])
        assert "lz_mediator" in await (await person.get("/join")).text()
