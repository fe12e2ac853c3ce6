"""The mediation record (调解笔录), on both databases: the editor's autosave with its version
counter (409 with the newer text when someone saved in between), every change kept as a
version, statements stamped on the recording's clock, sign-off issuing the document, and the
parties' confirmation through their links."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import RecordingStatus
from server.db import CaseEvent, Document, MediationRecord, RecordingSession, RecordVersion
from server.db.base import utcnow
from server.settings import Settings
from tests.server.test_hearings_support import (
    APPLICANT_ID,
    RoutedCase,
    Scheduled,
    browser,
    open_link,
    routed_case,
    schedule,
)
from tests.world import World, login

Client = TestClient  # type: ignore[type-arg]


async def call(
    client: Client, method: str, path: str, csrf: str = "", body: Any = None
) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    response = await client.request(method, path, json=body, headers=headers)
    return response.status, await response.json()


async def session_csrf(client: Client) -> str:
    """The CSRF token of the session already logged in (logging in again costs an Argon2
    verification)."""
    page = await (await client.get("/cases")).text()
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def hearing_with_record(
    client: Client, world: World
) -> tuple[RoutedCase, Scheduled, str, dict[str, Any]]:
    """A routed case, a mediation scheduled by its mediator, and the record opened by them."""
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    csrf = await session_csrf(client)
    status, record = await call(client, "GET", f"/api/hearings/{scheduled.hearing_id}/record")
    assert status == 200, record
    return case, scheduled, csrf, record


def lines(scheduled: Scheduled, *said: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"speaker_participant_id": scheduled.seats[role], "text": text, "client_key": f"k{i}"}
        for i, (role, text) in enumerate(said)
    ]


async def save(
    client: Client, csrf: str, record_id: int, base: int, statements: list[dict[str, Any]]
) -> tuple[int, Any]:
    return await call(
        client,
        "PUT",
        f"/api/records/{record_id}/statements",
        csrf,
        {"base_version": base, "statements": statements},
    )


async def test_autosave_keeps_every_changed_version(
    client: Client, world: World, db: AsyncSession
) -> None:
    _, scheduled, csrf, record = await hearing_with_record(client, world)
    assert record["status"] == "editing" and record["version"] == 0
    assert record["may_edit"] and record["may_sign_off"]
    assert {s["role"] for s in record["speakers"]} == {
        "mediator",
        "applicant",
        "respondent",
        "judge",
    }
    said = lines(scheduled, ("applicant", "楼上漏水三个月了。"), ("respondent", "我愿意修好。"))
    status, saved = await save(client, csrf, record["id"], 0, said)
    assert status == 200, saved
    assert saved["version"] == 1
    assert [s["speaker_name"] for s in saved["statements"]] == ["张三", "李四"]
    assert [s["client_key"] for s in saved["statements"]] == ["k0", "k1"]
    # Not recording: no position on a recording, but the wall time.
    assert all(s["offset_ms"] is None and s["said_at"] for s in saved["statements"])

    # The same list again changes nothing and makes no version.
    again = [{**line, "id": s["id"]} for line, s in zip(said, saved["statements"], strict=True)]
    status, same = await save(client, csrf, record["id"], 1, again)
    assert status == 200 and same["version"] == 1

    # An edit: the statement keeps its id and stamp; a new version is kept beside the old.
    again[1]["text"] = "我愿意下周修好。"
    status, edited = await save(client, csrf, record["id"], 1, again)
    assert status == 200 and edited["version"] == 2
    assert edited["statements"][1]["id"] == saved["statements"][1]["id"]
    assert edited["statements"][1]["said_at"] == saved["statements"][1]["said_at"]
    versions = (
        (
            await db.execute(
                select(RecordVersion)
                .where(RecordVersion.record_id == record["id"])
                .order_by(RecordVersion.version)
            )
        )
        .scalars()
        .all()
    )
    assert [v.version for v in versions] == [1, 2]
    assert [s["text"] for s in json.loads(versions[0].statements)][1] == "我愿意修好。"
    assert [s["text"] for s in json.loads(versions[1].statements)][1] == "我愿意下周修好。"
    for v in versions:
        assert v.sha256 == hashlib.sha256(v.statements.encode()).hexdigest()
        assert v.saved_by_id == world.staff["lz_mediator"].id

    # Removing a statement is a change too.
    status, fewer = await save(client, csrf, record["id"], 2, again[:1])
    assert status == 200 and fewer["version"] == 3 and len(fewer["statements"]) == 1


async def test_statements_carry_the_recording_clock(
    client: Client, world: World, db: AsyncSession
) -> None:
    case, scheduled, csrf, record = await hearing_with_record(client, world)
    db.add(
        RecordingSession(
            hearing_id=scheduled.hearing_id,
            case_id=case.id,
            status=RecordingStatus.RECORDING,
            started_at=utcnow() - dt.timedelta(seconds=90),
        )
    )
    await db.commit()
    status, saved = await save(
        client, csrf, record["id"], 0, lines(scheduled, ("mediator", "现在开始调解。"))
    )
    assert status == 200, saved
    offset = saved["statements"][0]["offset_ms"]
    assert 90_000 <= offset < 120_000
    assert saved["recording_started_at"] is not None


async def test_a_save_on_an_old_version_is_refused_with_the_newer_text(
    client: Client, world: World, db: AsyncSession
) -> None:
    _, scheduled, csrf, record = await hearing_with_record(client, world)
    # A clerk of the centre writes in the same record from another browser.
    async with browser(client) as other:
        response = await other.post(
            "/api/login", json={"username": "lz_clerk", "password": "correct horse battery"}
        )
        clerk_csrf = (await response.json())["csrf_token"]
        response = await other.put(
            f"/api/records/{record['id']}/statements",
            json={"base_version": 0, "statements": lines(scheduled, ("applicant", "书记员记录"))},
            headers={"X-CSRF-Token": clerk_csrf},
        )
        assert response.status == 200, await response.text()
    status, conflict = await save(
        client, csrf, record["id"], 0, lines(scheduled, ("respondent", "调解员记录"))
    )
    assert status == 409, conflict
    assert conflict["error"]["code"] == "error.record_conflict"
    assert conflict["record"]["version"] == 1
    assert [s["text"] for s in conflict["record"]["statements"]] == ["书记员记录"]
    # Nothing of the refused save was written.
    count = await db.scalar(
        select(func.count())
        .select_from(RecordVersion)
        .where(RecordVersion.record_id == record["id"])
    )
    assert count == 1
    # The editor merges and saves on top of the newer version.
    merged = [
        {
            "id": conflict["record"]["statements"][0]["id"],
            **lines(scheduled, ("applicant", "书记员记录"))[0],
        },
        *lines(scheduled, ("respondent", "调解员记录")),
    ]
    status, saved = await save(client, csrf, record["id"], 1, merged)
    assert status == 200, saved
    assert [s["text"] for s in saved["statements"]] == ["书记员记录", "调解员记录"]


async def test_speakers_are_seats_of_the_hearing(client: Client, world: World) -> None:
    case, scheduled, csrf, record = await hearing_with_record(client, world)
    other = await schedule(client, case, world)
    csrf = await session_csrf(client)
    status, body = await save(
        client,
        csrf,
        record["id"],
        0,
        [{"speaker_participant_id": other.seats["applicant"], "text": "别的会议的人"}],
    )
    assert status == 422
    assert "statements.0.speaker" in body["error"]["fields"]
    status, body = await save(
        client,
        csrf,
        record["id"],
        0,
        [{"id": 999999, "speaker_participant_id": scheduled.seats["applicant"], "text": "x"}],
    )
    assert status == 422 and "statements.0.id" in body["error"]["fields"]


async def test_who_may_see_edit_and_sign_off(client: Client, world: World) -> None:
    _, scheduled, csrf, record = await hearing_with_record(client, world)
    await save(client, csrf, record["id"], 0, lines(scheduled, ("applicant", "陈述")))
    # Out of scope: as if there were no such record.
    for username in ("mq_super", "laowang"):
        await login(client, username)
        status, _ = await call(client, "GET", f"/api/records/{record['id']}")
        assert status == 404, username
    # A clerk of the centre may type it up, but not sign it off.
    clerk = await login(client, "lz_clerk")
    status, seen = await call(client, "GET", f"/api/records/{record['id']}")
    assert status == 200 and seen["may_edit"] and not seen["may_sign_off"]
    status, body = await call(client, "POST", f"/api/records/{record['id']}/sign-off", clerk)
    assert status == 403, body
    # A party in the hearing (through their invitation link) sees no record at all.
    async with browser(client) as party:
        await open_link(party, scheduled.links["applicant"])
        response = await party.get(f"/api/hearings/{scheduled.hearing_id}/record")
        assert response.status == 404
    # The mediator through their own invitation link presides, so may write.
    async with browser(client) as mediator:
        link_csrf = await open_link(mediator, scheduled.links["mediator"])
        response = await mediator.get(f"/api/hearings/{scheduled.hearing_id}/record")
        assert response.status == 200
        assert (await response.json())["may_sign_off"]
        response = await mediator.put(
            f"/api/records/{record['id']}/statements",
            json={"base_version": 1, "statements": lines(scheduled, ("mediator", "经链接记录"))},
            headers={"X-CSRF-Token": link_csrf},
        )
        assert response.status == 200, await response.text()


async def test_sign_off_freezes_the_record_and_issues_the_document(
    client: Client, world: World, db: AsyncSession
) -> None:
    _, scheduled, csrf, record = await hearing_with_record(client, world)
    status, body = await call(client, "POST", f"/api/records/{record['id']}/sign-off", csrf)
    assert status == 409 and body["error"]["code"] == "error.record_empty"
    said = lines(scheduled, ("applicant", "要求赔偿三千元。"), ("respondent", "同意赔偿。"))
    status, saved = await save(client, csrf, record["id"], 0, said)
    assert status == 200
    status, signed = await call(client, "POST", f"/api/records/{record['id']}/sign-off", csrf)
    assert status == 200, signed
    assert signed["status"] == "signed_off" and not signed["may_edit"]
    assert signed["signed_off_by_name"] == "lz_mediator"
    document = await db.get(Document, signed["document_id"])
    assert document is not None
    assert document.kind == "mediation_record" and document.status == "final"
    assert document.hearing_id == scheduled.hearing_id
    for text in ("调解笔录", "张三", "要求赔偿三千元。", "李四", "同意赔偿。", "lz_mediator"):
        assert text in document.content
    (event,) = (
        await db.execute(select(CaseEvent).where(CaseEvent.kind == "record_signed_off"))
    ).scalars()
    assert event.actor_id == world.staff["lz_mediator"].id
    assert event.detail["sha256"] == document.sha256
    assert document.sha256 == hashlib.sha256(document.content.encode()).hexdigest()
    # Frozen.
    keep = [{**line, "id": s["id"]} for line, s in zip(said, saved["statements"], strict=True)]
    keep[0]["text"] = "改过的"
    status, body = await save(client, csrf, record["id"], 1, keep)
    assert status == 409 and body["error"]["code"] == "error.record_signed_off"
    status, _ = await call(client, "POST", f"/api/records/{record['id']}/sign-off", csrf)
    assert status == 409


async def test_a_broken_centre_template_refuses_sign_off_and_changes_nothing(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    _, scheduled, csrf, record = await hearing_with_record(client, world)
    await save(client, csrf, record["id"], 0, lines(scheduled, ("applicant", "陈述")))
    own = settings.data_dir / "templates" / "620602"
    own.mkdir(parents=True)
    (own / "mediation_record.html").write_text("<p>{{ no_such_thing.name }}</p>", "utf-8")
    status, body = await call(client, "POST", f"/api/records/{record['id']}/sign-off", csrf)
    assert status == 422, body
    assert body["error"]["code"] == "error.document_template"
    assert "mediation_record.html@centre:620602" in body["error"]["message"]
    row = await db.get(MediationRecord, record["id"])
    assert row is not None and row.status == "editing" and row.document_id is None
    assert await db.scalar(select(func.count()).select_from(Document)) == 0


async def test_parties_confirm_the_signed_off_record_through_their_links(
    client: Client, world: World, db: AsyncSession
) -> None:
    csrf = await login(client, "lz_clerk")
    status, created = await call(
        client,
        "POST",
        "/api/cases",
        csrf,
        {
            "channel": "walk_in",
            "title": "邻里漏水纠纷",
            "facts": "楼上漏水",
            "dispute_type": "neighbour",
            "parties": [
                {"role": "applicant", "name": "张三", "id_number": APPLICANT_ID},
                {"role": "respondent", "name": "李四"},
            ],
        },
    )
    assert status == 201, created
    case_id = created["case"]["id"]
    names = {p["id"]: p["name"] for p in created["case"]["parties"]}
    links = {names[int(pid)]: url for pid, url in created["party_links"].items()}
    status, _ = await call(
        client,
        "POST",
        f"/api/cases/{case_id}/route",
        csrf,
        {"target": "mediator", "mediator_id": world.staff["lz_mediator"].id, "reason": "调解"},
    )
    assert status == 200
    parties = {p["role"]: p["id"] for p in created["case"]["parties"]}
    scheduled = await schedule(
        client,
        RoutedCase(case_id, parties["applicant"], parties["respondent"]),
        world,
        participants=[
            {"kind": "staff", "role": "mediator", "staff_id": world.staff["lz_mediator"].id},
            {"kind": "party", "role": "applicant", "party_id": parties["applicant"]},
            {"kind": "party", "role": "respondent", "party_id": parties["respondent"]},
        ],
    )
    mediator = await session_csrf(client)
    _, record = await call(client, "GET", f"/api/hearings/{scheduled.hearing_id}/record")
    await save(client, mediator, record["id"], 0, lines(scheduled, ("applicant", "同意")))

    async def open_party_link(party: Any, name: str) -> str:
        response = await party.get("/p/" + links[name].rsplit("/p/", 1)[1])
        page = await response.text()
        return page.split('name="_csrf" value="', 1)[1].split('"', 1)[0]

    async with browser(client) as applicant, browser(client) as respondent:
        a_csrf = await open_party_link(applicant, "张三")
        b_csrf = await open_party_link(respondent, "李四")
        # Before sign-off the parties see nothing of it.
        response = await applicant.get("/api/party/records")
        assert response.status == 200 and await response.json() == []
        response = await applicant.post(
            f"/api/party/records/{record['id']}/confirm", headers={"X-CSRF-Token": a_csrf}
        )
        assert response.status == 404

        status, signed = await call(
            client, "POST", f"/api/records/{record['id']}/sign-off", mediator
        )
        assert status == 200, signed
        response = await applicant.get("/api/party/records")
        shown = (await response.json())[0]
        assert shown["status"] == "signed_off" and not shown["confirmed"]
        assert "张三" in shown["content"] and APPLICANT_ID not in shown["content"]
        response = await applicant.post(
            f"/api/party/records/{record['id']}/confirm", headers={"X-CSRF-Token": a_csrf}
        )
        assert response.status == 200, await response.text()
        assert (await response.json())["confirmed"]
        row = await db.get(MediationRecord, record["id"])
        assert row is not None and row.status == "signed_off"
        response = await respondent.post(
            f"/api/party/records/{record['id']}/confirm", headers={"X-CSRF-Token": b_csrf}
        )
        assert response.status == 200
        await db.refresh(row)
        assert row.status == "confirmed"
        confirmed = (
            await db.execute(select(CaseEvent).where(CaseEvent.kind == "record_confirmed"))
        ).scalars()
        assert sorted(e.actor_label for e in confirmed) == ["张三", "李四"]
        document = await db.get(Document, signed["document_id"])
        assert document is not None
        status, seen = await call(client, "GET", f"/api/records/{record['id']}")
        assert sorted(seen["confirmed_party_ids"]) == sorted(parties.values())
        assert shown["document_sha256"] == document.sha256
        # The party reads the document itself (ID numbers masked on screen), never a draft.
        response = await applicant.get(f"/documents/{document.id}")
        page = await response.text()
        assert response.status == 200 and "同意" in page and APPLICANT_ID not in page
        response = await applicant.get(f"/documents/{document.id}.pdf")
        assert response.status == 200 and response.content_type == "application/pdf"
        response = await client.post(
            f"/api/cases/{case_id}/agreement",
            json={"facts": "漏水", "terms": ["赔偿"], "performance": "转账"},
            headers={"X-CSRF-Token": mediator},
        )
        assert response.status == 201, await response.text()
        draft_id = (await response.json())["id"]
        assert (await applicant.get(f"/documents/{draft_id}")).status == 404
        assert (await applicant.get(f"/api/documents/{draft_id}")).status == 404


async def test_a_clerk_opens_the_record_page_after_the_hearing(
    client: Client, world: World
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    csrf = await login(client, "lz_clerk")
    response = await client.get(f"/cases/{case.id}/documents")
    assert response.status == 200
    assert f'action="/cases/{case.id}/hearings/{scheduled.hearing_id}/record"' in (
        await response.text()
    )
    response = await client.post(
        f"/cases/{case.id}/hearings/{scheduled.hearing_id}/record",
        data={"_csrf": csrf},
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(rf"/cases/{case.id}/record/\d+", location)
    response = await client.get(location)
    page = await response.text()
    assert response.status == 200
    assert 'id="record-panel"' in page and f'data-hearing-id="{scheduled.hearing_id}"' in page
    assert "/static/js/live/record.js" in page
    # Another county's supervisor finds no such page.
    await login(client, "mq_super")
    assert (await client.get(location)).status == 404
