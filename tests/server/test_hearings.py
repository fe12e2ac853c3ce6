"""Scheduling hearings and their invitation links: who may schedule, what a link is, what
opening one does, and what stops it working."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import String, Text, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Base, CaseEvent, Invitation
from server.db.base import utcnow
from server.hearings.invitations import Revocation, invitation_status, revocations_since
from server.hearings.live import REVOCATIONS
from server.hearings.vocabulary import InvitationState, RevocationReason
from tests.server.test_hearings_support import (
    browser,
    open_link,
    participants,
    path_of,
    routed_case,
    schedule,
    soon,
)
from tests.world import World, login

Client = TestClient  # type: ignore[type-arg]


def token_of(url: str) -> str:
    return path_of(url).rsplit("/", 1)[1]


async def test_mediator_schedules_and_each_participant_gets_a_link(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    assert set(scheduled.links) == {"mediator", "applicant", "respondent", "judge"}
    tokens = {token_of(url) for url in scheduled.links.values()}
    assert len(tokens) == 4
    for url in scheduled.links.values():
        assert url.startswith("http://127.0.0.1:8080/join/")
        raw = base64.urlsafe_b64decode(token_of(url) + "=" * (-len(token_of(url)) % 4))
        assert len(raw) * 8 >= 128
    names = {p["role"]: p["name"] for p in scheduled.body["hearing"]["participants"]}
    assert names == {
        "mediator": "lz_mediator",
        "applicant": "张三",
        "respondent": "李四",
        "judge": "lz_judge",
    }
    assert all(
        p["invitation"]["state"] == "active" for p in scheduled.body["hearing"]["participants"]
    )
    events = (
        (await db.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    )
    scheduled_events = [e for e in events if e.kind == "hearing_scheduled"]
    assert len(scheduled_events) == 1
    assert scheduled_events[0].detail["hearing_id"] == scheduled.hearing_id
    assert scheduled_events[0].actor_id == world.staff["lz_mediator"].id


async def test_only_scheduling_roles_in_scope_may_schedule(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    body = {"kind": "mediation", "starts_at": soon(), "participants": participants(case, world)}
    # An intake clerk sees the case but does not hold hearings; a liaison and another county's
    # supervisor do not even see it; a room mediator it was not routed to neither.
    for username, status in (
        ("lz_clerk", 403),
        ("lz_liaison", 403),
        ("mq_super", 404),
        ("laowang", 404),
        ("lz_super", 201),
        ("admin", 201),
    ):
        csrf = await login(client, username)
        response = await client.post(
            f"/api/cases/{case.id}/hearings", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == status, (username, await response.text())
    # The judge of the court the case went to holds confirmation hearings, and only those.
    csrf = await login(client, "lz_judge")
    response = await client.post(
        f"/api/cases/{case.id}/hearings", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 422
    assert "kind" in (await response.json())["error"]["fields"]
    response = await client.post(
        f"/api/cases/{case.id}/hearings",
        json={**body, "kind": "confirmation_hearing"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()


async def test_participants_are_checked_against_the_case(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    other = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    mediator = participants(case, world)[0]

    async def fields(people: list[dict[str, Any]], kind: str = "mediation") -> dict[str, str]:
        response = await client.post(
            f"/api/cases/{case.id}/hearings",
            json={"kind": kind, "starts_at": soon(), "participants": people},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 422, await response.text()
        return dict((await response.json())["error"]["fields"])

    # A party of another case.
    assert "participants.1.party_id" in await fields(
        [mediator, {"kind": "party", "role": "applicant", "party_id": other.applicant_id}]
    )
    # The respondent seated as the applicant.
    assert "participants.1.role" in await fields(
        [mediator, {"kind": "party", "role": "applicant", "party_id": case.respondent_id}]
    )
    # An intake clerk as judge.
    assert "participants.1.role" in await fields(
        [mediator, {"kind": "staff", "role": "judge", "staff_id": world.staff["lz_clerk"].id}]
    )
    # Nobody to mediate.
    assert "participants" in await fields(
        [{"kind": "party", "role": "applicant", "party_id": case.applicant_id}]
    )
    # An outside person cannot preside.
    assert "participants.1.role" in await fields(
        [mediator, {"kind": "guest", "role": "mediator", "name": "王律师"}]
    )
    # A village centre's room on one device, and an interpreter, are fine.
    response = await client.post(
        f"/api/cases/{case.id}/hearings",
        json={
            "kind": "mediation",
            "starts_at": soon(),
            "participants": [
                mediator,
                {"kind": "group", "role": "respondent", "name": "东关村调解室", "headcount": 3},
                {"kind": "guest", "role": "interpreter", "name": "才让"},
            ],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, await response.text()
    seats = (await response.json())["hearing"]["participants"]
    assert [(s["kind"], s["name"], s["headcount"]) for s in seats[1:]] == [
        ("group", "东关村调解室", 3),
        ("guest", "才让", None),
    ]


async def test_tokens_are_never_stored_in_clear(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    tokens = [token_of(url) for url in scheduled.links.values()]
    # Open one link, so sessions exist too.
    async with browser(client) as person:
        await open_link(person, scheduled.links["applicant"])
    found: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        # Names from our own metadata, not from input.
        query = f"SELECT {', '.join(columns)} FROM {table.name}"  # noqa: S608
        rows = (await db.execute(text(query))).all()
        blob = "\n".join(str(value) for row in rows for value in row)
        found += [f"{table.name}:{t[:6]}" for t in tokens if t in blob]
    assert found == []
    stored = set((await db.execute(select(Invitation.token_hash))).scalars())
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} <= stored


async def test_opening_a_link_gives_a_cookie_and_drops_the_token(
    client: Client, world: World
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    async with browser(client) as person:
        response = await person.get(path_of(scheduled.links["applicant"]), allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/join"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "bilin_session" in response.cookies
        page = await person.get("/join")
        html = await page.text()
        assert page.status == 200
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert token_of(scheduled.links["applicant"]) not in html
        assert "张三" in html and "申请人" in html and "视频调解" in html
        # The steps to come, the identity step for a party.
        assert 'data-step="identity"' in html and 'data-step="waiting_room"' in html
        info = await (await person.get("/api/join")).json()
        assert info["role"] == "applicant" and info["hearing_id"] == scheduled.hearing_id
        # The link session is no staff login.
        assert (await person.get("/api/cases")).status == 401


async def test_a_staff_link_grants_the_seat_only(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    async with browser(client) as judge:
        await open_link(judge, scheduled.links["judge"])
        info = await (await judge.get("/api/join")).json()
        assert info["role"] == "judge" and info["presiding"] is True
        assert (await judge.get(f"/api/cases/{case.id}")).status == 401
        # Presiding through the link, the judge sees the hearing's participants.
        detail = await judge.get(f"/api/hearings/{scheduled.hearing_id}")
        assert detail.status == 200
    async with browser(client) as party:
        await open_link(party, scheduled.links["respondent"])
        assert (await party.get(f"/api/hearings/{scheduled.hearing_id}")).status == 404


async def test_unknown_expired_revoked_and_replaced_links_are_refused_alike(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    csrf = await login(client, "lz_mediator")
    refusals: list[str] = []

    async def refused(url: str) -> None:
        async with browser(client) as person:
            response = await person.get(path_of(url), allow_redirects=False)
            assert response.status == 404
            html = await response.text()
            refusals.append(re.findall(r'<p class="alert" role="alert">(.*?)</p>', html)[0])

    await refused("http://x/join/" + "A" * 32)
    # Expired.
    expired = hashlib.sha256(token_of(scheduled.links["judge"]).encode()).hexdigest()
    await db.execute(
        update(Invitation)
        .where(Invitation.token_hash == expired)
        .values(expires_at=utcnow() - dt.timedelta(minutes=1))
    )
    await db.commit()
    await refused(scheduled.links["judge"])
    # Revoked.
    response = await client.delete(
        f"/api/hearings/{scheduled.hearing_id}/participants/{scheduled.seats['respondent']}"
        "/invitation",
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 204
    await refused(scheduled.links["respondent"])
    # Reissued: the new link works, the old one no longer.
    response = await client.post(
        f"/api/hearings/{scheduled.hearing_id}/participants/{scheduled.seats['applicant']}"
        "/invitation",
        json={},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201
    new_url = (await response.json())["url"]
    assert new_url != scheduled.links["applicant"]
    await refused(scheduled.links["applicant"])
    async with browser(client) as person:
        await open_link(person, new_url)
    assert len(set(refusals)) == 1 and "邀请链接无效" in refusals[0]


async def test_revocation_ends_the_session_and_reaches_the_live_layer(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    heard: list[Revocation] = []

    async def listener(revocation: Revocation) -> None:
        heard.append(revocation)

    stop = client.app[REVOCATIONS].subscribe(listener)
    seat = scheduled.seats["respondent"]
    before = utcnow() - dt.timedelta(seconds=1)
    status = await invitation_status(db, seat)
    assert status is not None and status.admits
    async with browser(client) as person:
        await open_link(person, scheduled.links["respondent"])
        assert (await person.get("/api/join")).status == 200
        csrf = await login(client, "lz_mediator")
        response = await client.delete(
            f"/api/hearings/{scheduled.hearing_id}/participants/{seat}/invitation",
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 204
        # The person's session is gone at their very next request.
        assert (await person.get("/api/join")).status == 404
    assert [(r.participant_id, r.hearing_id, r.reason) for r in heard] == [
        (seat, scheduled.hearing_id, RevocationReason.REVOKED)
    ]
    await db.rollback()  # a fresh snapshot of what the request committed
    status = await invitation_status(db, seat)
    assert status is not None and status.state == InvitationState.REVOKED and not status.admits
    polled = await revocations_since(db, before)
    assert [r.participant_id for r in polled] == [seat]
    # Reissuing tells the live layer the older link is gone, too.
    response = await client.post(
        f"/api/hearings/{scheduled.hearing_id}/participants/{scheduled.seats['applicant']}"
        "/invitation",
        json={},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201
    assert heard[-1].participant_id == scheduled.seats["applicant"]
    assert heard[-1].reason == RevocationReason.REISSUED
    stop()


async def test_links_expire_at_the_end_of_the_day_after_the_hearing(
    client: Client, world: World
) -> None:
    case = await routed_case(client, world)
    # 10:00 in Wuwei (UTC+8) on a day well ahead.
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).date()
    starts = dt.datetime.combine(day, dt.time(2, 0), tzinfo=dt.UTC)
    scheduled = await schedule(client, case, world, starts_at=starts.isoformat())
    expiry = {link["expires_at"] for link in scheduled.body["links"]}
    # Midnight (Asia/Shanghai) at the end of the next day = 16:00 UTC the day after.
    expected = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(16, 0), tzinfo=dt.UTC)
    assert {dt.datetime.fromisoformat(e) for e in expiry} == {expected}
    # A chosen expiry is used as given, and one in the past is refused.
    chosen = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    scheduled = await schedule(
        client, case, world, starts_at=soon(), invitation_expires_at=chosen.isoformat()
    )
    assert {dt.datetime.fromisoformat(link["expires_at"]) for link in scheduled.body["links"]} == {
        chosen
    }
    csrf = await login(client, "lz_mediator")
    response = await client.post(
        f"/api/cases/{case.id}/hearings",
        json={
            "kind": "mediation",
            "starts_at": soon(),
            "invitation_expires_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "participants": participants(case, world),
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 422
    assert "invitation_expires_at" in (await response.json())["error"]["fields"]
