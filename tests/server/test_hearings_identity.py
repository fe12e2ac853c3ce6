"""Identity and consent in a hearing: a party declares, the presiding participant checks on
camera (recorded on the case), and each participant answers the versioned recording notice."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import CaseEvent, RecordingConsent
from server.hearings.consent import RECORDING_NOTICE_VERSION
from server.settings import WEB_DIR
from tests.server.test_hearings_support import (
    APPLICANT_ID,
    browser,
    open_link,
    routed_case,
    schedule,
)
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]


async def test_party_declares_and_mediator_confirms_on_camera(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    applicant = scheduled.seats["applicant"]
    async with browser(client) as party:
        csrf = await open_link(party, scheduled.links["applicant"])
        bad = await party.post(
            "/api/join/identity",
            json={"name": "张三", "id_number": "620602198503120210"},
            headers={"X-CSRF-Token": csrf},
        )
        assert bad.status == 422
        assert "id_number" in (await bad.json())["error"]["fields"]
        response = await party.post(
            "/api/join/identity",
            json={"name": "张三", "id_number": APPLICANT_ID},
            headers={"X-CSRF-Token": csrf},
        )
        declared = await response.json()
        assert response.status == 201, declared
        assert declared["id_number_masked"] == APPLICANT_ID[:3] + "*" * 11 + APPLICANT_ID[-4:]
        assert declared["matches_case_record"] is True
        assert APPLICANT_ID not in await response.text()
        # A party cannot check anyone's identity, not even their own.
        response = await party.post(
            f"/api/hearings/{scheduled.hearing_id}/participants/{applicant}/identity-checks",
            json={"method": "id_document_on_camera"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 403
        assert (await party.get("/api/join")).status == 200

    # The mediator, logged in, records the check made on camera.
    csrf = await login(client, "lz_mediator")
    response = await client.post(
        f"/api/hearings/{scheduled.hearing_id}/participants/{applicant}/identity-checks",
        json={"method": "id_document_on_camera", "note": "身份证与本人一致"},
        headers={"X-CSRF-Token": csrf},
    )
    seat = await response.json()
    assert response.status == 201, seat
    assert seat["identity"]["check"]["outcome"] == "confirmed"
    assert seat["identity"]["check"]["method"] == "id_document_on_camera"
    assert seat["identity"]["check"]["checked_by"] == "lz_mediator"
    events = (
        (await db.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    )
    checked = [e for e in events if e.kind == "identity_checked"]
    assert len(checked) == 1
    assert checked[0].actor_id == world.staff["lz_mediator"].id
    assert checked[0].detail["participant"] == "张三"
    assert checked[0].detail["outcome"] == "confirmed"
    assert APPLICANT_ID not in str(checked[0].detail)

    # The staff hearing page shows the declaration masked and the check.
    page = await client.get(f"/hearings/{scheduled.hearing_id}")
    html = await page.text()
    assert page.status == 200
    assert "身份已核实" in html and "镜头前出示身份证件" in html
    assert APPLICANT_ID not in html and declared["id_number_masked"] in html


async def test_checks_need_a_declaration_and_a_presiding_seat(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    respondent = scheduled.seats["respondent"]
    # The judge presides too, here through their invitation link.
    async with browser(client) as judge:
        csrf = await open_link(judge, scheduled.links["judge"])
        response = await judge.post(
            f"/api/hearings/{scheduled.hearing_id}/participants/{respondent}/identity-checks",
            json={"method": "face_to_record"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 409  # nothing declared yet
        # Staff do not declare an identity this way.
        response = await judge.post(
            "/api/join/identity",
            json={"name": "法官", "id_number": id_number()},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 403
        async with browser(client) as party:
            party_csrf = await open_link(party, scheduled.links["respondent"])
            response = await party.post(
                "/api/join/identity",
                json={"name": "李四", "id_number": id_number(seq="456")},
                headers={"X-CSRF-Token": party_csrf},
            )
            assert response.status == 201
            # The case record has no ID number for 李四: nothing to compare.
            assert (await response.json())["matches_case_record"] is None
        response = await judge.post(
            f"/api/hearings/{scheduled.hearing_id}/participants/{respondent}/identity-checks",
            json={"method": "face_to_record", "outcome": "not_confirmed"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 201
        assert (await response.json())["identity"]["check"]["checked_by"] == "lz_judge"
    # A supervisor in scope who holds no seat cannot record a check made on camera.
    csrf = await login(client, "lz_super")
    response = await client.post(
        f"/api/hearings/{scheduled.hearing_id}/participants/{respondent}/identity-checks",
        json={"method": "personally_known"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 404


async def test_consent_is_stored_with_the_notice_version_and_a_refusal_is_flagged(
    client: Client, world: World, db: AsyncSession
) -> None:
    case = await routed_case(client, world)
    scheduled = await schedule(client, case, world)
    async with browser(client) as party:
        csrf = await open_link(party, scheduled.links["respondent"])
        notice = await (await party.get("/api/join/notice")).json()
        assert notice["version"] == RECORDING_NOTICE_VERSION
        assert notice["locale"] == "zh-CN" and "录音录像" in notice["text"]
        english = await (await party.get("/api/join/notice?lang=en")).json()
        assert english["version"] == notice["version"] and "recorded" in english["text"]
        response = await party.post(
            "/api/join/consent",
            json={"notice_version": "2020.1", "given": True},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 409  # not the text now in force
        response = await party.post(
            "/api/join/consent",
            json={"notice_version": notice["version"], "given": False},
            headers={"X-CSRF-Token": csrf},
        )
        answer = await response.json()
        assert response.status == 201, answer
        assert answer["given"] is False and answer["notice_version"] == RECORDING_NOTICE_VERSION
        assert (await (await party.get("/api/join")).json())["consent"]["given"] is False

    rows = (await db.execute(select(RecordingConsent))).scalars().all()
    assert [(r.given, r.notice_version, r.locale) for r in rows] == [
        (False, RECORDING_NOTICE_VERSION, "en")
    ]
    import hashlib
    import json

    texts = json.loads(
        (WEB_DIR / "i18n" / "notices" / f"recording-{RECORDING_NOTICE_VERSION}.json").read_text(
            encoding="utf-8"
        )
    )
    assert rows[0].notice_sha256 == hashlib.sha256(texts["en"].encode()).hexdigest()

    # The mediator sees who is not to be recorded, in the API and on the page.
    await login(client, "lz_mediator")
    detail = await (await client.get(f"/api/hearings/{scheduled.hearing_id}")).json()
    flags = {p["role"]: (p["do_not_record"], p["consent"]) for p in detail["participants"]}
    assert flags["respondent"][0] is True
    assert flags["respondent"][1]["notice_version"] == RECORDING_NOTICE_VERSION
    assert flags["applicant"] == (False, None)
    html = await (await client.get(f"/hearings/{scheduled.hearing_id}?lang=zh-CN")).text()
    assert "seat-not-recorded" in html and "拒绝录制" in html

    # Changing one's mind later is recorded too, and the newest answer counts.
    async with browser(client) as party:
        csrf = await open_link(party, scheduled.links["respondent"])
        response = await party.post(
            "/api/join/consent",
            json={"notice_version": RECORDING_NOTICE_VERSION, "given": True},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 201
    detail = await (await client.get(f"/api/hearings/{scheduled.hearing_id}")).json()
    respondent = next(p for p in detail["participants"] if p["role"] == "respondent")
    assert respondent["do_not_record"] is False and respondent["consent"]["given"] is True


def test_every_notice_version_has_both_languages() -> None:
    import json

    for path in (WEB_DIR / "i18n" / "notices").glob("recording-*.json"):
        texts = json.loads(path.read_text(encoding="utf-8"))
        assert set(texts) == {"zh-CN", "en"} and all(texts.values()), path
