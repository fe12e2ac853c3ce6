"""Documents from templates: each built-in form filled with realistic Chinese data; the PDF with
embedded CJK fonts whose text reads back; versions superseding older ones; the SHA-256 changing
exactly when the content does; centres' own templates, and a broken one refused with nothing
written; who may read what. On both databases where the database is involved."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, CaseEvent, Document
from server.documents.issue import issue_document
from server.documents.render import (
    TemplateRefused,
    canonical,
    content_sha256,
    masked_for_screen,
    render_document,
)
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind
from server.settings import WEB_DIR, Settings
from tests.server.test_hearings_support import APPLICANT_ID, routed_case
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]

BUILTIN = TemplateDirs(builtin=WEB_DIR / "templates" / "documents", overrides=Path("/nonexistent"))
RESPONDENT_ID = id_number("620602", "19780615", "034")

PARTIES = [
    {
        "id": 1,
        "role": "applicant",
        "role_label": "申请人",
        "name": "张秀兰",
        "sex": "女",
        "id_number": APPLICANT_ID,
        "address": "甘肃省武威市凉州区东大街街道东关村3组12号",
        "phone": "13909351234",
        "represents_id": None,
    },
    {
        "id": 2,
        "role": "respondent",
        "role_label": "被申请人",
        "name": "李建国",
        "sex": "男",
        "id_number": RESPONDENT_ID,
        "address": "甘肃省武威市凉州区东大街街道东关村3组14号",
        "phone": "13830512345",
        "represents_id": None,
    },
]
COMMON = {
    "case": {
        "id": 7,
        "number": "（2026）凉综调字第0012号",
        "title": "相邻房屋漏水损害赔偿纠纷",
        "dispute_type": "neighbour",
        "facts": "",
        "claims": "",
    },
    "centre": {"code": "620602", "name": "凉州区综治中心"},
    "mediator": {"name": "王德明"},
    "parties": PARTIES,
    "issued_on": "2026-11-28",
}
AGREEMENT = {
    **COMMON,
    "facts": "2026年9月起，被申请人李建国家卫生间防水层破损，致申请人张秀兰家厨房顶棚渗水。\n"
    "申请人多次协商未果，于2026年11月向中心申请调解。",
    "disputed_matters": "漏水的维修责任与厨房顶棚的损失赔偿数额。",
    "terms": [
        "被申请人李建国于2026年12月15日前自费修复卫生间防水层。",
        "被申请人李建国赔偿申请人张秀兰厨房顶棚修复费用人民币叁仟元整（¥3,000.00）。",
        "双方就本纠纷再无其他争议。",
    ],
    "performance": "维修由被申请人自行组织；赔偿款以银行转账方式一次性支付至申请人账户。",
    "performance_deadline": "2026-12-31",
}
AGREEMENT_REF = {
    "number": "（2026）凉综调字第0012号",
    "sha256": "a" * 64,
    "concluded_on": "2026-11-28",
    "centre": "凉州区综治中心",
    "terms": AGREEMENT["terms"],
}
APPLICATION = {
    **COMMON,
    "agreement": AGREEMENT_REF,
    "court": {"name": "武威市凉州区人民法院"},
    "applied_on": "2026-12-02",
}
RULING = {
    **COMMON,
    "agreement": AGREEMENT_REF,
    "court": {"name": "武威市凉州区人民法院"},
    "ruling_number": "（2026）甘0602民特第118号",
    "applied_on": "2026-12-02",
    "decision": "confirm",
    "reasons": "",
    "judge": "赵文静",
    "clerk": "孙丽",
    "decided_on": "2026-12-09",
}
RECORD = {
    **COMMON,
    "hearing": {
        "id": 3,
        "starts_at_text": "2026年11月28日 09:30",
        "seats": [
            {"name": "王德明", "role": "mediator", "role_label": "调解员", "party_id": None},
            {"name": "张秀兰", "role": "applicant", "role_label": "申请人", "party_id": 1},
            {"name": "李建国", "role": "respondent", "role_label": "被申请人", "party_id": 2},
        ],
    },
    "record": {
        "id": 1,
        "version": 4,
        "mediator_name": "王德明",
        "signed_off_by": "王德明",
        "signed_off_on": "2026-11-28",
    },
    "statements": [
        {"speaker_name": "王德明", "text": "现在开始调解。", "clock": "0:00:05"},
        {"speaker_name": "张秀兰", "text": "厨房顶棚已经霉了。", "clock": "0:01:12"},
        {"speaker_name": "李建国", "text": "我同意修好并赔偿。", "clock": ""},
    ],
}


def render(kind: DocumentKind, data: dict[str, Any]) -> str:
    source = BUILTIN.source(kind, None)
    return render_document(source.text, data, label=source.label)


def text_of(html: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))


def test_the_agreement_holds_what_the_law_requires() -> None:
    text = text_of(render(DocumentKind.AGREEMENT, AGREEMENT))
    for expected in (
        "人民调解协议书",
        "凉州区综治中心",
        "（2026）凉综调字第0012号",
        # The parties, identified in full (the signed text must identify them to the court).
        "申请人：张秀兰，女，公民身份号码：" + APPLICANT_ID,
        "被申请人：李建国，男，公民身份号码：" + RESPONDENT_ID,
        "东关村3组12号",
        # Facts and disputed matters, terms, how and by when performed.
        "卫生间防水层破损",
        "争议事项：漏水的维修责任",
        "叁仟元整",
        "银行转账",
        "履行期限：2026年12月31日前履行完毕",
        "三十日内共同向人民法院申请司法确认",
        "本协议一式3份",
        # Space for the signatures, the mediator and the committee's seal, and the date.
        "申请人（签名）：张秀兰",
        "人民调解员（签名）：王德明",
        "人民调解委员会（印章）",
        "2026年11月28日",
    ):
        assert expected in text, expected
    # Autoescaped: what a party typed can never become markup.
    evil = {**AGREEMENT, "facts": "<script>alert(1)</script>"}
    assert "<script>" not in render(DocumentKind.AGREEMENT, evil)


def test_the_application_ruling_and_record_forms() -> None:
    application = text_of(render(DocumentKind.CONFIRMATION_APPLICATION, APPLICATION))
    for expected in (
        "司法确认申请书",
        "申请人：张秀兰",
        "申请人：李建国",
        "请求人民法院依法确认",
        "（编号：（2026）凉综调字第0012号）",
        "a" * 64,
        "此致武威市凉州区人民法院",
        "2026年12月2日",
    ):
        assert expected in application, expected
    confirmed = text_of(render(DocumentKind.RULING, RULING))
    for expected in (
        "武威市凉州区人民法院",
        "民事裁定书",
        "（2026）甘0602民特第118号",
        "达成的人民调解协议有效",
        "申请执行",
        "审判员赵文静",
        "书记员孙丽",
        "2026年12月9日",
    ):
        assert expected in confirmed, expected
    rejected = text_of(
        render(
            DocumentKind.RULING,
            {**RULING, "decision": "reject", "reasons": "协议内容损害案外人合法权益。"},
        )
    )
    assert "驳回申请人张秀兰、李建国的司法确认申请" in rejected
    assert "协议内容损害案外人合法权益。" in rejected
    assert "协议有效" not in rejected
    record = text_of(render(DocumentKind.MEDIATION_RECORD, RECORD))
    for expected in (
        "调解笔录",
        "王德明：现在开始调解。〔录像0:00:05〕",
        "张秀兰：厨房顶棚已经霉了。",
        "李建国：我同意修好并赔偿。",
        "张秀兰（申请人）、李建国（被申请人）",
    ):
        assert expected in record, expected


def test_templates_are_sandboxed_and_strict() -> None:
    with pytest.raises(TemplateRefused) as refused:
        render_document("{{ missing.name }}", {}, label="x.html@centre:1")
    assert refused.value.params["template"] == "x.html@centre:1"
    with pytest.raises(TemplateRefused):
        render_document("{% for %}", {}, label="x")
    with pytest.raises(TemplateRefused):
        render_document("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, label="x")


def test_sha256_covers_the_canonical_content() -> None:
    one = render(DocumentKind.AGREEMENT, AGREEMENT)
    assert content_sha256(one) == hashlib.sha256(one.encode("utf-8")).hexdigest()
    assert content_sha256(render(DocumentKind.AGREEMENT, AGREEMENT)) == content_sha256(one)
    changed = {**AGREEMENT, "terms": [*AGREEMENT["terms"][:2], "双方另有约定。"]}
    assert content_sha256(render(DocumentKind.AGREEMENT, changed)) != content_sha256(one)
    # Line ends and trailing blanks are not content.
    assert canonical("a \r\nb\t\r\n") == canonical("a\nb\n")


def test_screens_mask_id_numbers_but_not_hashes() -> None:
    html = render(DocumentKind.AGREEMENT, AGREEMENT)
    masked = masked_for_screen(html)
    assert APPLICANT_ID not in masked and RESPONDENT_ID not in masked
    assert APPLICANT_ID[:3] + "*" * 11 + APPLICANT_ID[-4:] in masked
    digits = "1234567890" * 6 + "1234"
    assert masked_for_screen(f"<p>{digits}</p>") == f"<p>{digits}</p>"


def test_pdf_embeds_cjk_fonts_and_its_text_reads_back(tmp_path: Path) -> None:
    from server.documents.pdf import render_pdf

    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(
        render_pdf(render(DocumentKind.AGREEMENT, AGREEMENT), title="协议", web_dir=WEB_DIR)
    )
    check_pdf(pdf, ["张秀兰", "李建国", "人民调解协议书", "叁仟元整", APPLICANT_ID])


def check_pdf(pdf: Path, expected: list[str]) -> None:
    """The text reads back and every font is embedded (no missing glyphs, no fallback)."""
    text = re.sub(r"\s+", "", subprocess.check_output(["pdftotext", str(pdf), "-"], text=True))
    for word in expected:
        assert word in text, word
    assert "\ufffd" not in text
    fonts = subprocess.check_output(["pdffonts", str(pdf)], text=True).splitlines()[2:]
    assert fonts, "no fonts listed"
    for line in fonts:
        # name type encoding emb sub uni ...: the "emb" column is the 4th from the end.
        assert line.split()[-5] == "yes", line
    assert any("CJK" in line for line in fonts)


# ---- through the API and pages, on both databases ------------------------------------------


def agreement_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "facts": AGREEMENT["facts"],
        "disputed_matters": AGREEMENT["disputed_matters"],
        "terms": AGREEMENT["terms"],
        "performance": AGREEMENT["performance"],
        "performance_deadline": "2026-12-31",
    }
    form.update(changes)
    return form


async def draft(client: Client, csrf: str, case_id: int, **changes: Any) -> tuple[int, Any]:
    response = await client.post(
        f"/api/cases/{case_id}/agreement",
        json=agreement_form(**changes),
        headers={"X-CSRF-Token": csrf},
    )
    return response.status, await response.json()


async def test_drafts_supersede_and_finalising_freezes(
    client: Client, world: World, db: AsyncSession, tmp_path: Path, settings: Settings
) -> None:
    case = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    status, first = await draft(client, csrf, case.id, sexes={str(case.applicant_id): "女"})
    assert status == 201, first
    assert (first["version"], first["status"]) == (1, "draft")
    assert first["template"] == "agreement.html@builtin"
    status, second = await draft(client, csrf, case.id, performance="现金支付。")
    assert (second["version"], second["status"]) == (2, "draft")
    assert second["sha256"] != first["sha256"]
    # The same text again: a new version, the same hash.
    status, third = await draft(client, csrf, case.id, performance="现金支付。")
    assert third["sha256"] == second["sha256"] and third["version"] == 3
    response = await client.get(f"/api/cases/{case.id}/documents")
    listed = {d["version"]: d["status"] for d in await response.json()}
    assert listed == {1: "superseded", 2: "superseded", 3: "draft"}

    response = await client.post(
        f"/api/documents/{second['id']}/finalise", headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 409
    response = await client.post(
        f"/api/documents/{third['id']}/finalise", headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200 and (await response.json())["status"] == "final"
    kinds = (
        await db.execute(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    ).scalars()
    assert [k for k in kinds if k.startswith("agreement_")] == [
        "agreement_drafted",
        "agreement_drafted",
        "agreement_drafted",
        "agreement_finalised",
    ]
    # A change after that is a new draft; the final version no longer counts.
    status, fourth = await draft(client, csrf, case.id, performance="分两期支付。")
    assert status == 201
    response = await client.get(f"/api/documents/{third['id']}")
    assert (await response.json())["status"] == "superseded"
    row = await db.get(Document, fourth["id"])
    assert row is not None and row.sha256 == hashlib.sha256(row.content.encode()).hexdigest()
    assert "张三" in row.content and APPLICANT_ID in row.content
    assert "分两期支付。" in row.content

    # On screen: the ID number masked; in the PDF: whole, in embedded Chinese fonts.
    response = await client.get(f"/documents/{fourth['id']}")
    page = await response.text()
    assert response.status == 200 and "张三" in page and APPLICANT_ID not in page
    assert row.sha256 in page
    response = await client.get(f"/documents/{fourth['id']}.pdf")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert response.headers["X-Document-SHA256"] == row.sha256
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(await response.read())
    check_pdf(pdf, ["张三", "李四", "人民调解协议书", "分两期支付", APPLICANT_ID])
    # Laid out once: kept by content hash, served again byte for byte.
    kept = list((settings.data_dir / "documents" / "pdf").glob(f"{row.sha256}-*.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == pdf.read_bytes()
    again = await client.get(f"/documents/{fourth['id']}.pdf")
    assert await again.read() == pdf.read_bytes()
    response = await client.get(f"/cases/{case.id}/documents")
    assert response.status == 200 and "人民调解协议书" in await response.text()


async def test_a_centre_template_is_used_and_a_broken_one_changes_nothing(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    case = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    own = settings.data_dir / "templates" / "620602"
    own.mkdir(parents=True)
    (own / "agreement.html").write_text(
        "<article class='doc'><h1>{{ centre.name }}调解协议</h1>"
        "{% for p in parties %}<p>{{ p.name }}</p>{% endfor %}<p>{{ performance }}</p></article>",
        "utf-8",
    )
    status, body = await draft(client, csrf, case.id)
    assert status == 201, body
    assert body["template"] == "agreement.html@centre:620602"
    row = await db.get(Document, body["id"])
    assert row is not None and "凉州区综治中心调解协议" in row.content

    for broken in ("{% if %}", "{{ agreement.sha256 }}", "{{ ''.__class__.__mro__ }}"):
        (own / "agreement.html").write_text(broken, "utf-8")
        status, refused = await draft(client, csrf, case.id)
        assert status == 422, (broken, refused)
        assert refused["error"]["code"] == "error.document_template"
        assert "agreement.html@centre:620602" in refused["error"]["message"]
    count = await db.scalar(select(func.count()).select_from(Document))
    assert count == 1
    row = await db.get(Document, body["id"])
    assert row is not None and row.status == "draft"  # not superseded by a refused draft


async def test_who_may_read_and_draft(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    _, drafted = await draft(client, csrf, case.id)
    for username in ("mq_super", "laowang"):
        await login(client, username)
        for path in (
            f"/documents/{drafted['id']}",
            f"/documents/{drafted['id']}.pdf",
            f"/api/documents/{drafted['id']}",
        ):
            assert (await client.get(path)).status == 404, (username, path)
    judge = await login(client, "lz_judge")  # sees the case (routed to the court), drafts nothing
    assert (await client.get(f"/api/documents/{drafted['id']}")).status == 200
    status, _ = await draft(client, judge, case.id)
    assert status == 403


async def test_issue_document_for_the_court(db: AsyncSession, world: World, client: Client) -> None:
    """The interface the signatures and judicial confirmation build on."""
    routed = await routed_case(client, world)
    case = await db.get(Case, routed.id)
    assert case is not None
    await db.refresh(case, ["parties"])
    first = await issue_document(
        db,
        case,
        DocumentKind.RULING,
        {k: v for k, v in RULING.items() if k not in COMMON},
        created_by=world.staff["lz_judge"].id,
        template_dir=BUILTIN,
        today=dt.date(2026, 12, 9),
    )
    await db.commit()
    assert first.version == 1 and first.status == "final"
    assert "张三" in first.content and "赵文静" in first.content
    assert first.sha256 == content_sha256(first.content)
    second = await issue_document(
        db,
        case,
        DocumentKind.RULING,
        {k: v for k, v in RULING.items() if k not in COMMON},
        created_by=world.staff["lz_judge"].id,
        template_dir=BUILTIN,
        today=dt.date(2026, 12, 9),
    )
    await db.commit()
    await db.refresh(first)
    assert (second.version, first.status) == (2, "superseded")
    assert second.sha256 == first.sha256


async def test_the_agreement_form_on_the_documents_page(client: Client, world: World) -> None:
    case = await routed_case(client, world)
    csrf = await login(client, "lz_mediator")
    form = {
        "_csrf": csrf,
        f"sex_{case.applicant_id}": "女",
        "facts": "楼上漏水。",
        "disputed_matters": "赔偿数额",
        "terms": "赔偿三千元。\n\n双方再无争议。",
        "performance": "银行转账",
        "performance_deadline": "2026-12-31",
    }
    response = await client.post(
        f"/cases/{case.id}/documents/agreement", data=form, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == f"/cases/{case.id}/documents?done=drafted"
    response = await client.get(f"/api/cases/{case.id}/documents")
    (made,) = await response.json()
    response = await client.get(f"/api/documents/{made['id']}")
    content = (await response.json())["content"]
    assert "张三，女" in content and "<li>赔偿三千元。</li>" in content
    assert "<li>双方再无争议。</li>" in content
    # The next draft starts from this one.
    page = await (await client.get(f"/cases/{case.id}/documents")).text()
    assert "赔偿三千元。\n双方再无争议。</textarea>" in page
    assert '<option value="女" selected>' in page
    # Missing terms: the page again, saying what is wrong, and no new version.
    response = await client.post(
        f"/cases/{case.id}/documents/agreement", data={**form, "terms": " "}
    )
    assert response.status == 422
    assert 'href="#agreement-terms"' in await response.text()
    response = await client.get(f"/api/cases/{case.id}/documents")
    assert len(await response.json()) == 1
