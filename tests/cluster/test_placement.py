"""Hearings over three workers behind HAProxy: new hearings spread over the workers, everyone in
one hearing is sent to the same worker, and when every worker is full a new hearing gets a clear
refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.cluster.conftest import Cluster, run_cluster


async def _worker_for(url: str, link: str) -> tuple[int, dict[str, Any]]:
    """Open an invitation link in a fresh browser session and ask where the hearing is."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(link) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{url}/api/live/worker") as response:
            return response.status, await response.json()


def test_hearings_spread_and_a_hearings_people_share_a_worker(cluster: Cluster) -> None:
    sessions = [cluster.demo_session() for _ in range(3)]

    async def run() -> None:
        placed = []
        for session in sessions:
            status, body = await _worker_for(cluster.url, session["links"]["applicant"])
            assert status == 200, body
            assert body["socket_path"] == f"/w/{body['worker']}/socket.io"
            placed.append(body["worker"])
            # The other party and the mediator of that hearing go to the same worker.
            for role in ("respondent", "mediator"):
                _, other = await _worker_for(cluster.url, session["links"][role])
                assert other == body
        assert sorted(placed) == ["w1", "w2", "w3"]

    asyncio.run(run())


def test_when_every_worker_is_full_a_new_hearing_is_refused_clearly(tmp_path: Path) -> None:
    with run_cluster(tmp_path, workers=2, BILIN_MEDIA_MAX_ROOMS="1") as cluster:
        sessions = [cluster.demo_session() for _ in range(3)]

        async def run() -> None:
            first = [await _worker_for(cluster.url, s["links"]["applicant"]) for s in sessions[:2]]
            assert sorted(body["worker"] for _, body in first) == ["w1", "w2"]
            status, body = await _worker_for(cluster.url, sessions[2]["links"]["applicant"])
            assert status == 503
            assert "满载" in body["error"]["message"]
            # A hearing already placed still finds its (full) worker.
            again = await _worker_for(cluster.url, sessions[0]["links"]["respondent"])
            assert again == first[0]

        asyncio.run(run())
