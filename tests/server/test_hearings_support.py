"""Shared steps of the hearing tests: a case routed to a mediator and the court, a hearing
scheduled on it, and a second browser (its own cookies) for the person who opens a link."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.test_utils import TestClient

from tests.world import World, id_number, login

APPLICANT_ID = id_number("620602", "19850312", "021")


@dataclass
class RoutedCase:
    """A case in 凉州区, routed to ``lz_mediator`` and to 凉州区人民法院."""

    id: int
    applicant_id: int
    respondent_id: int


@dataclass
class Scheduled:
    """A scheduled hearing and its links, by role."""

    hearing_id: int
    body: dict[str, Any]
    links: dict[str, str]  # role → URL
    seats: dict[str, int]  # role → participant id


async def routed_case(client: TestClient, world: World) -> RoutedCase:  # type: ignore[type-arg]
    """Intake by ``lz_clerk``, then routing to the mediator and to the court."""
    csrf = await login(client, "lz_clerk")
    response = await client.post(
        "/api/cases",
        json={
            "channel": "walk_in",
            "title": "邻里漏水纠纷",
            "facts": "楼上漏水",
            "dispute_type": "neighbour",
            "parties": [
                {"role": "applicant", "name": "张三", "id_number": APPLICANT_ID},
                {"role": "respondent", "name": "李四"},
            ],
        },
        headers={"X-CSRF-Token": csrf},
    )
    body = await response.json()
    assert response.status == 201, body
    case_id = body["case"]["id"]
    parties = {p["role"]: p["id"] for p in body["case"]["parties"]}
    for route in (
        {"target": "mediator", "mediator_id": world.staff["lz_mediator"].id, "reason": "调解"},
        {"target": "court", "org_code": "620602-C01", "reason": "诉调对接"},
    ):
        response = await client.post(
            f"/api/cases/{case_id}/route", json=route, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 200, await response.text()
    return RoutedCase(case_id, parties["applicant"], parties["respondent"])


def participants(case: RoutedCase, world: World) -> list[dict[str, Any]]:
    """Mediator, both parties and the judge."""
    return [
        {"kind": "staff", "role": "mediator", "staff_id": world.staff["lz_mediator"].id},
        {"kind": "party", "role": "applicant", "party_id": case.applicant_id},
        {"kind": "party", "role": "respondent", "party_id": case.respondent_id},
        {"kind": "staff", "role": "judge", "staff_id": world.staff["lz_judge"].id},
    ]


def soon() -> str:
    """A start time an hour from now, as the API takes it."""
    import datetime as dt

    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()


async def schedule(
    client: TestClient,  # type: ignore[type-arg]
    case: RoutedCase,
    world: World,
    username: str = "lz_mediator",
    **overrides: Any,
) -> Scheduled:
    """Log in as ``username`` and schedule a mediation with the four usual participants."""
    csrf = await login(client, username)
    body: dict[str, Any] = {
        "kind": "mediation",
        "starts_at": soon(),
        "participants": participants(case, world),
    }
    body.update(overrides)
    response = await client.post(
        f"/api/cases/{case.id}/hearings", json=body, headers={"X-CSRF-Token": csrf}
    )
    result = await response.json()
    assert response.status == 201, result
    links = {link["role"]: link["url"] for link in result["links"]}
    seats = {p["role"]: p["id"] for p in result["hearing"]["participants"]}
    return Scheduled(result["hearing"]["id"], result, links, seats)


def path_of(url: str) -> str:
    """The path of a link (links name the public base URL, not the test server)."""
    return urlsplit(url).path


@asynccontextmanager
async def browser(client: TestClient) -> AsyncIterator[aiohttp.ClientSession]:  # type: ignore[type-arg]
    """Another browser on the same server, with cookies of its own."""
    async with aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session


async def open_link(session: aiohttp.ClientSession, url: str) -> str:
    """Open an invitation link as a person would; returns the CSRF token of the join page."""
    response = await session.get(path_of(url))
    assert response.status == 200, await response.text()
    assert response.url.path == "/join"
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', await response.text())
    assert match is not None
    return match.group(1)
