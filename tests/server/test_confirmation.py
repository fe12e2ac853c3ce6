"""The joint application and the court's decision, on both databases: filed only when every
party confirmed through their own link within 30 days; the court's queue with the 15-day clock
and the one 10-day extension, enforced; only a judge of that court decides (another court's
judge: not found); the ruling is issued, sealed with the court's key and shown to the parties
as HTML and PDF. Every refusal changes nothing."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.confirmation.vocabulary import ApplicationStatus
from server.db import (
    ApplicationConsent,
    Case,
    CaseEvent,
    ConfirmationApplication,
    Document,
    DocumentSeal,
    Organisation,
    Staff,
)
from server.documents.vocabulary import DocumentKind
from server.keys import signing_key, verify_signature
from server.settings import Settings
from server.vocabulary import OrgKind, Role
from tests.server.test_signatures import (
    LI_ID,
    ZHANG_ID,
    Arranged,
    arrange,
    csrf_of,
    party_browser,
    sign_and_seal,
    staff_browser,
)
from tests.world import World, _password_hash

Client = TestClient  # type: ignore[type-arg]
COURT = "620602-C01"


@dataclass
class Proposed:
    """A sealed agreement with an application waiting for the parties."""

    a: Arranged
    application_id: int
    zhang: tuple[Client, str]
    li: tuple[Client, str]


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    query = select(func.count()).select_from(model)
    for clause in where:
        query = query.where(clause)
    return int((await db.execute(query)).scalar_one())


async def application(db: AsyncSession, application_id: int) -> ConfirmationApplication:
    row = await db.get(ConfirmationApplication, application_id, populate_existing=True)
    assert row is not None
    return row


async def propose(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> Proposed:
    a = await arrange(db, settings, world)
    await sign_and_seal(aiohttp_client, settings, a)
    staff, csrf = await staff_browser(aiohttp_client, settings, "lz_mediator")
    response = await staff.post(
        f"/cases/{a.case_id}/confirmation", data={"_csrf": csrf, "court": COURT}
    )
    assert response.status == 200, await response.text()
    app_id = (
        await db.execute(
            select(ConfirmationApplication.id).where(ConfirmationApplication.case_id == a.case_id)
        )
    ).scalar_one()
    return Proposed(
        a,
        app_id,
        await party_browser(aiohttp_client, settings, a.tokens[a.zhang]),
        await party_browser(aiohttp_client, settings, a.tokens[a.li]),
    )


async def confirm(browser: tuple[Client, str]) -> tuple[int, str]:
    client, csrf = browser
    response = await client.post("/my-case/confirmation", data={"_csrf": csrf})
    return response.status, await response.text()


async def filed(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> Proposed:
    p = await propose(aiohttp_client, settings, db, world)
    for browser in (p.zhang, p.li):
        status, page = await confirm(browser)
        assert status == 200, page
    return p


async def judge_posts(client: Client, path: str, **form: str) -> tuple[int, str]:
    page = await (await client.get("/")).text()
    response = await client.post(path, data={"_csrf": csrf_of(page), **form})
    return response.status, await response.text()


async def test_one_party_alone_files_nothing_then_both_file(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await propose(aiohttp_client, settings, db, world)
    page = await (await p.zhang[0].get("/my-case")).text()
    assert "确认共同申请司法确认" in page and "凉州区人民法院" in page
    status, page = await confirm(p.zhang)
    assert status == 200
    assert "正在等待其他当事人确认" in page
    row = await application(db, p.application_id)
    assert row.status == ApplicationStatus.AWAITING_PARTIES
    assert row.application_document_id is None
    assert await count(db, Document, Document.kind == DocumentKind.CONFIRMATION_APPLICATION) == 0
    case = await db.get(Case, p.a.case_id, populate_existing=True)
    assert case is not None and case.court_id is None
    judge, _ = await staff_browser(aiohttp_client, settings, "lz_judge")
    assert f"/confirmations/{p.application_id}" not in await (await judge.get("/")).text()
    assert (await judge.get(f"/confirmations/{p.application_id}")).status == 404
    # Confirming twice is refused and changes nothing.
    status, page = await confirm(p.zhang)
    assert status == 409 and "您已确认过该申请" in page
    assert await count(db, ApplicationConsent) == 1

    status, page = await confirm(p.li)
    assert status == 200
    row = await application(db, p.application_id)
    assert row.status == ApplicationStatus.FILED
    today = settings.today()
    assert row.filed_on == today and row.decide_by == today + dt.timedelta(days=15)
    bundle = json.loads(row.bundle)
    assert bundle["agreement"]["id"] == p.a.agreement_id
    assert len(bundle["agreement"]["signatures"]) == 3 and len(bundle["agreement"]["seals"]) == 1
    assert bundle["application"]["id"] == row.application_document_id
    document = await db.get(Document, row.application_document_id)
    assert document is not None and "司法确认申请书" in document.content
    assert "凉州区人民法院" in document.content and "张三" in document.content
    case = await db.get(Case, p.a.case_id, populate_existing=True)
    assert case is not None and case.court_id == world.orgs[COURT].id
    # The court's queue: judge and clerk see it with its clock.
    for username in ("lz_judge", "lz_court_clerk"):
        client, _ = await staff_browser(aiohttp_client, settings, username)
        queue = await (await client.get("/")).text()
        assert f"/confirmations/{p.application_id}" in queue and "剩余15天" in queue
    page = await (await p.zhang[0].get("/my-case")).text()
    assert "申请已提交法院" in page


async def test_applying_after_thirty_days_is_refused(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await propose(aiohttp_client, settings, db, world)
    row = await application(db, p.application_id)
    row.effective_on = settings.today() - dt.timedelta(days=31)
    row.apply_by = settings.today() - dt.timedelta(days=1)
    await db.commit()
    status, page = await confirm(p.zhang)
    assert status == 409 and "已超过申请期限" in page
    assert await count(db, ApplicationConsent) == 0
    assert (await application(db, p.application_id)).status == ApplicationStatus.AWAITING_PARTIES


async def test_broken_centre_template_refuses_filing_and_keeps_nothing(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await propose(aiohttp_client, settings, db, world)
    status, _ = await confirm(p.zhang)
    assert status == 200
    own = Path(settings.data_dir) / "templates" / "620602"
    own.mkdir(parents=True)
    (own / "confirmation_application.html").write_text("{% for x in %}坏模板", encoding="utf-8")
    events = await count(db, CaseEvent)
    status, page = await confirm(p.li)
    assert status == 422, page
    row = await application(db, p.application_id)
    assert row.status == ApplicationStatus.AWAITING_PARTIES and row.filed_on is None
    assert await count(db, ApplicationConsent) == 1  # Li's confirmation was not kept either
    assert await count(db, Document, Document.kind == DocumentKind.CONFIRMATION_APPLICATION) == 0
    assert await count(db, CaseEvent) == events
    # Fixed template: Li confirms again and it is filed.
    (own / "confirmation_application.html").unlink()
    status, _ = await confirm(p.li)
    assert status == 200
    assert (await application(db, p.application_id)).status == ApplicationStatus.FILED


async def test_clock_extension_and_who_may_decide(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await filed(aiohttp_client, settings, db, world)
    # Another county's court and its judge.
    county = world.orgs["620621"]
    other = Organisation(
        code="620621-C01", name="民勤县人民法院", kind=OrgKind.COURT, parent_id=county.id, path=""
    )
    db.add(other)
    await db.flush()
    other.path = f"{county.path}{other.id}/"
    db.add(
        Staff(
            username="mq_judge",
            display_name="mq_judge",
            role=Role.JUDGE,
            org_id=other.id,
            password_hash=_password_hash(),
        )
    )
    await db.commit()
    path = f"/confirmations/{p.application_id}"
    stranger, _ = await staff_browser(aiohttp_client, settings, "mq_judge")
    assert (await stranger.get(path)).status == 404
    status, _ = await judge_posts(stranger, f"{path}/decide", decision="confirm", reasons="")
    assert status == 404
    clerk, _ = await staff_browser(aiohttp_client, settings, "lz_court_clerk")
    assert (await clerk.get(path)).status == 200
    status, _ = await judge_posts(clerk, f"{path}/decide", decision="confirm", reasons="")
    assert status == 403
    mediator, _ = await staff_browser(aiohttp_client, settings, "lz_mediator")
    assert (await mediator.get(path)).status == 404

    # Past the 15 days: deciding is refused until the one extension.
    row = await application(db, p.application_id)
    row.decide_by = settings.today() - dt.timedelta(days=1)
    await db.commit()
    judge, _ = await staff_browser(aiohttp_client, settings, "lz_judge")
    queue = await (await judge.get("/")).text()
    assert "已超期1天" in queue and "is-overdue" in queue
    status, page = await judge_posts(judge, f"{path}/decide", decision="confirm", reasons="")
    assert status == 409 and "已超过审查期限" in page
    assert await count(db, Document, Document.kind == DocumentKind.RULING) == 0
    status, page = await judge_posts(judge, f"{path}/extend", reason="")
    assert status == 422
    status, page = await judge_posts(clerk, f"{path}/extend", reason="案情复杂")
    assert status == 403
    status, page = await judge_posts(judge, f"{path}/extend", reason="案情复杂，经院长批准延长")
    assert status == 200, page
    row = await application(db, p.application_id)
    assert row.decide_by == settings.today() + dt.timedelta(days=9)
    status, page = await judge_posts(judge, f"{path}/extend", reason="再次延长")
    assert status == 409 and "只能延长一次" in page
    assert (await application(db, p.application_id)).decide_by == row.decide_by

    # A broken ruling template: refused, nothing changed.
    own = Path(settings.data_dir) / "templates" / "620602"
    own.mkdir(parents=True)
    (own / "ruling.html").write_text("{{ no_such_thing }}", encoding="utf-8")
    status, page = await judge_posts(judge, f"{path}/decide", decision="confirm", reasons="")
    assert status == 422
    assert (await application(db, p.application_id)).status == ApplicationStatus.FILED
    assert await count(db, Document, Document.kind == DocumentKind.RULING) == 0
    (own / "ruling.html").unlink()
    # Rejecting needs reasons.
    status, page = await judge_posts(judge, f"{path}/decide", decision="reject", reasons="")
    assert status == 422

    status, page = await judge_posts(judge, f"{path}/decide", decision="confirm", reasons="")
    assert status == 200, page
    row = await application(db, p.application_id)
    assert row.status == ApplicationStatus.CONFIRMED and row.ruling_document_id is not None
    ruling = await db.get(Document, row.ruling_document_id)
    assert ruling is not None and "民事裁定书" in ruling.content and "协议有效" in ruling.content
    seal = (
        await db.execute(select(DocumentSeal).where(DocumentSeal.document_id == ruling.id))
    ).scalar_one()
    key = await signing_key(db, settings, world.orgs[COURT].id)
    assert seal.org_id == world.orgs[COURT].id and seal.key_id == key.key_id
    assert json.loads(seal.binding)["document"]["sha256"] == ruling.sha256
    assert verify_signature(
        key.public_pem, seal.binding.encode(), base64.b64decode(seal.server_signature)
    )
    status, page = await judge_posts(judge, f"{path}/decide", decision="reject", reasons="x")
    assert status == 409
    assert "confirmation_decided" in {
        e.kind
        for e in (
            await db.execute(select(CaseEvent).where(CaseEvent.case_id == p.a.case_id))
        ).scalars()
    }

    # The parties see the ruling, as HTML and as a PDF with the Chinese text.
    client = p.zhang[0]
    page = await (await client.get("/my-case")).text()
    assert "确认调解协议有效" in page and f"/my-case/documents/{ruling.id}.pdf" in page
    html = await (await client.get(f"/my-case/documents/{ruling.id}")).text()
    assert "民事裁定书" in html and ZHANG_ID not in html and LI_ID not in html
    response = await client.get(f"/my-case/documents/{ruling.id}.pdf")
    assert response.status == 200 and response.content_type == "application/pdf"
    pdf = Path(settings.data_dir) / "ruling.pdf"
    pdf.write_bytes(await response.read())
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    text = done.stdout
    assert "民事裁定书" in text and "张三" in text and "李四" in text


async def test_json_api_queue_and_rejection(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await filed(aiohttp_client, settings, db, world)
    mediator, _ = await staff_browser(aiohttp_client, settings, "lz_mediator")
    state = await (await mediator.get(f"/api/cases/{p.a.case_id}/agreement/signatures")).json()
    assert state["sealed"] and state["document_id"] == p.a.agreement_id
    assert [s["valid"] for s in state["signatures"]] == [True, True, True]
    assert await (await mediator.get("/api/confirmations")).json() == []
    judge, csrf = await staff_browser(aiohttp_client, settings, "lz_judge")
    queue = await (await judge.get("/api/confirmations")).json()
    assert [item["id"] for item in queue] == [p.application_id]
    assert queue[0]["days_left"] == 15 and not queue[0]["extended"]
    headers = {"X-CSRF-Token": csrf}
    path = f"/api/confirmations/{p.application_id}/decide"
    response = await judge.post(path, json={"decision": "reject", "reasons": ""}, headers=headers)
    assert response.status == 422
    response = await judge.post(
        path,
        json={"decision": "reject", "reasons": "协议内容损害案外人合法权益。"},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["status"] == "rejected" and body["ruling_document_id"]
    ruling = await db.get(Document, body["ruling_document_id"])
    assert ruling is not None and "驳回" in ruling.content and "损害案外人" in ruling.content
    page = await (await p.li[0].get("/my-case")).text()
    assert "驳回司法确认申请" in page


async def test_both_parties_confirming_at_once_file_exactly_once(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    p = await propose(aiohttp_client, settings, db, world)
    results = await asyncio.gather(confirm(p.zhang), confirm(p.li))
    assert [status for status, _ in results] == [200, 200]
    row = await application(db, p.application_id)
    assert row.status == ApplicationStatus.FILED
    assert await count(db, ApplicationConsent) == 2
    assert await count(db, Document, Document.kind == DocumentKind.CONFIRMATION_APPLICATION) == 1
