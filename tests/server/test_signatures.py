"""Signing a FINAL agreement, on both databases: a party through their link (identity check,
a real PNG), the mediator last (which applies the centre's seal), the bindings verify with the
centre's public key, a changed text invalidates the signatures and a superseded version cannot
be signed. Every refusal keeps nothing.

Helpers here (``arrange``, ``party_browser``, ``sign``…) are shared with test_confirmation.py.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.auth.tokens import new_token, token_hash
from server.db import Case, DocumentSeal, DocumentSignature, Party
from server.documents.issue import issue_document
from server.documents.templates import TemplateDirs
from server.documents.verify import verify_document_bundle
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.errors import InvalidInput
from server.keys import signing_key, verify_signature
from server.settings import Settings
from server.signatures.binding import canonical_json, sha256_hex
from server.signatures.image import decode_png
from server.vocabulary import CaseStatus, Channel, DisputeType, PartyRole
from tests.world import World, id_number, login

Client = TestClient  # type: ignore[type-arg]

ZHANG_ID = id_number("620602", "19800202", "011")
LI_ID = id_number("620602", "19850505", "022")
AGREEMENT_DATA: dict[str, Any] = {
    "facts": "申请人张三与被申请人李四系上下楼邻居。\n李四家卫生间漏水致张三家天花板受损。",
    "disputed_matters": "漏水损失的赔偿数额。",
    "terms": ["李四于2026年12月10日前赔偿张三维修费人民币三千元。", "双方就此纠纷再无其他争议。"],
    "performance": "一次性现金或转账支付。",
    "performance_deadline": "2026-12-10",
}


@dataclass
class Arranged:
    """A case in mediation with two parties (and an agent), and its FINAL agreement."""

    case_id: int
    agreement_id: int
    zhang: int
    li: int
    agent: int
    tokens: dict[int, str]
    centre_id: int


async def issue_agreement(
    db: AsyncSession, settings: Settings, case_id: int, **changes: Any
) -> int:
    """Issue (or re-issue, superseding) the case's FINAL agreement; returns its id."""
    case = await db.get(Case, case_id)
    assert case is not None
    await db.refresh(case, ["parties"])
    document = await issue_document(
        db,
        case,
        DocumentKind.AGREEMENT,
        {**AGREEMENT_DATA, **changes},
        created_by=case.mediator_id,
        template_dir=TemplateDirs.from_settings(settings),
    )
    await db.commit()
    return document.id


async def arrange(db: AsyncSession, settings: Settings, world: World) -> Arranged:
    """Insert the case and its parties (with personal links) and issue the agreement."""
    centre = world.orgs["620602"]
    case = Case(
        status=CaseStatus.MEDIATING,
        channel=Channel.WALK_IN,
        dispute_type=DisputeType.NEIGHBOUR,
        title="楼上漏水致楼下受损纠纷",
        facts=AGREEMENT_DATA["facts"],
        claims="赔偿维修费",
        centre_id=centre.id,
        scope_path=centre.path,
        mediator_id=world.staff["lz_mediator"].id,
        accepted_on=settings.today(),
    )
    db.add(case)
    await db.flush()
    case.number = f"（2026）凉调字第{case.id:04d}号"
    tokens: dict[int, str] = {}
    rows = []
    for role, name, number in (
        (PartyRole.APPLICANT, "张三", ZHANG_ID),
        (PartyRole.RESPONDENT, "李四", LI_ID),
        (PartyRole.AGENT, "王律师", ""),
    ):
        token = new_token()
        party = Party(
            case_id=case.id,
            role=role,
            name=name,
            id_number=number,
            link_token_hash=token_hash(token),
        )
        db.add(party)
        await db.flush()
        tokens[party.id] = token
        rows.append(party)
    await db.commit()
    agreement_id = await issue_agreement(db, settings, case.id)
    return Arranged(case.id, agreement_id, rows[0].id, rows[1].id, rows[2].id, tokens, centre.id)


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


async def party_browser(aiohttp_client: Any, settings: Settings, token: str) -> tuple[Client, str]:
    """A party's own browser, signed in through their link; returns it and its CSRF token."""
    client: Client = await aiohttp_client(create_app(settings))
    response = await client.get(f"/p/{token}")
    assert response.status == 200
    return client, csrf_of(await response.text())


async def staff_browser(
    aiohttp_client: Any, settings: Settings, username: str
) -> tuple[Client, str]:
    """A staff member's browser, logged in; returns it and its CSRF token."""
    client: Client = await aiohttp_client(create_app(settings))
    return client, await login(client, username)


def drawn_png(size: tuple[int, int] = (600, 220)) -> str:
    """A signature as the pad sends it: a PNG data URL with a stroke on it."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(40, 150), (200, 60), (380, 170), (560, 80)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def sign(
    client: Client, csrf: str, document_id: int, name: str, id_no: str, **changes: str
) -> tuple[int, str]:
    """A party submits the sign form; returns the status and the page."""
    form = {
        "_csrf": csrf,
        "full_name": name,
        "id_tail": id_no[-6:],
        "method": "drawn",
        "signature_png": drawn_png(),
        **changes,
    }
    response = await client.post(f"/my-case/sign/{document_id}", data=form)
    return response.status, await response.text()


async def mediator_signs(
    client: Client, csrf: str, case_id: int, document_id: int
) -> tuple[int, str]:
    form = {
        "_csrf": csrf,
        "document_id": str(document_id),
        "method": "drawn",
        "signature_png": drawn_png(),
    }
    response = await client.post(f"/cases/{case_id}/agreement/sign", data=form)
    return response.status, await response.text()


async def count(db: AsyncSession, model: Any) -> int:
    return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


async def sign_and_seal(aiohttp_client: Any, settings: Settings, a: Arranged) -> None:
    """Both parties sign, then the mediator (which seals)."""
    for party_id, name, number in ((a.zhang, "张三", ZHANG_ID), (a.li, "李四", LI_ID)):
        client, csrf = await party_browser(aiohttp_client, settings, a.tokens[party_id])
        status, page = await sign(client, csrf, a.agreement_id, name, number)
        assert status == 200, page
    staff, csrf = await staff_browser(aiohttp_client, settings, "lz_mediator")
    status, page = await mediator_signs(staff, csrf, a.case_id, a.agreement_id)
    assert status == 200, page


# --- tests -------------------------------------------------------------------------------------


async def test_party_reads_the_exact_version_and_signs(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    client, csrf = await party_browser(aiohttp_client, settings, a.tokens[a.zhang])
    page = await (await client.get("/my-case")).text()
    assert f'href="/my-case/sign/{a.agreement_id}"' in page
    sign_page = await (await client.get(f"/my-case/sign/{a.agreement_id}")).text()
    assert "李四于2026年12月10日前赔偿张三维修费" in sign_page
    assert "620602*********" in sign_page or ZHANG_ID not in sign_page  # masked on screen
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID)
    assert status == 200
    assert "签名成功" in page

    row = (await db.execute(select(DocumentSignature))).scalar_one()
    assert row.party_id == a.zhang and row.method == "drawn"
    assert row.image_png is not None and row.image_png.startswith(b"\x89PNG")
    binding = json.loads(row.binding)
    assert binding["document"]["id"] == a.agreement_id
    assert binding["document"]["sha256"] == row.document_sha256
    assert binding["image_sha256"] == sha256_hex(row.image_png)
    assert binding["identity"] == {
        "id_tail_checked": True,
        "method": "name+id_tail",
        "name": "张三",
    }
    assert len(binding["session"]) == 64
    key = await signing_key(db, settings, a.centre_id)
    assert verify_signature(
        key.public_pem, canonical_json(binding), base64.b64decode(row.server_signature)
    )
    assert canonical_json(binding).decode() == row.binding
    # Once signed, the page says so and offers no second signature.
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID)
    assert status == 409 and "您已在该版本上签名" in page
    assert await count(db, DocumentSignature) == 1


async def test_identity_and_picture_are_checked_server_side(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    client, csrf = await party_browser(aiohttp_client, settings, a.tokens[a.zhang])
    status, page = await sign(client, csrf, a.agreement_id, "李四", ZHANG_ID)
    assert status == 422 and "姓名与案件登记不一致" in page
    status, page = await sign(client, csrf, a.agreement_id, "张三", LI_ID)
    assert status == 422 and "身份证号码后几位与案件登记不一致" in page
    not_png = "data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\0" * 100).decode()
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID, signature_png=not_png)
    assert status == 422 and "签名图像无效" in page
    big = Image.frombytes("RGBA", (300, 200), os.urandom(300 * 200 * 4))
    out = io.BytesIO()
    big.save(out, "PNG")
    assert len(out.getvalue()) > 200 * 1024
    huge = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    # Over 200 KB: the request body limit (256 KB) refuses it before the handler; the PNG
    # check itself refuses it too where the body would fit.
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID, signature_png=huge)
    assert status == 413
    with pytest.raises(InvalidInput) as refused:
        decode_png(huge)
    assert refused.value.fields["signature_png"].key == "confirmation.error.signature_too_large"
    blank = io.BytesIO()
    Image.new("RGBA", (600, 220), (0, 0, 0, 0)).save(blank, "PNG")
    empty = "data:image/png;base64," + base64.b64encode(blank.getvalue()).decode()
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID, signature_png=empty)
    assert status == 422 and "请先在签名区域书写签名" in page
    assert await count(db, DocumentSignature) == 0
    # The keyboard alternative: the typed name plus the box ticked.
    status, page = await sign(
        client, csrf, a.agreement_id, "张三", ZHANG_ID, method="typed", typed_name="张三"
    )
    assert status == 422 and "请勾选确认" in page
    status, page = await sign(
        client,
        csrf,
        a.agreement_id,
        "张三",
        ZHANG_ID,
        method="typed",
        typed_name="张三",
        confirm="1",
    )
    assert status == 200, page
    row = (await db.execute(select(DocumentSignature))).scalar_one()
    assert row.method == "typed" and row.image_png is None


async def test_an_agent_and_another_case_cannot_sign(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    agent, csrf = await party_browser(aiohttp_client, settings, a.tokens[a.agent])
    status, _ = await sign(agent, csrf, a.agreement_id, "王律师", "")
    assert status == 403
    b = await arrange(db, settings, world)
    other, csrf = await party_browser(aiohttp_client, settings, b.tokens[b.zhang])
    status, _ = await sign(other, csrf, a.agreement_id, "张三", ZHANG_ID)
    assert status == 404
    assert (await other.get(f"/my-case/documents/{a.agreement_id}")).status == 404
    assert await count(db, DocumentSignature) == 0


async def test_mediator_signs_last_and_the_centre_seals(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    staff, scsrf = await staff_browser(aiohttp_client, settings, "lz_mediator")
    status, page = await mediator_signs(staff, scsrf, a.case_id, a.agreement_id)
    assert status == 409 and "请待各方当事人签名后再签名" in page
    assert await count(db, DocumentSignature) == 0
    await sign_and_seal(aiohttp_client, settings, a)
    seal = (await db.execute(select(DocumentSeal))).scalar_one()
    binding = json.loads(seal.binding)
    rows = list(
        (await db.execute(select(DocumentSignature).order_by(DocumentSignature.id))).scalars()
    )
    assert [r.signer_kind for r in rows] == ["party", "party", "mediator"]
    assert binding["signatures"] == [sha256_hex(r.binding.encode()) for r in rows]
    assert binding["document"]["sha256"] == seal.document_sha256
    key = await signing_key(db, settings, a.centre_id)
    assert verify_signature(
        key.public_pem, seal.binding.encode(), base64.b64decode(seal.server_signature)
    )
    page = await (await staff.get(f"/cases/{a.case_id}/agreement")).text()
    assert "已盖章" in page
    # A clerk of the centre sees the page but cannot sign as mediator.
    client, _csrf = await party_browser(aiohttp_client, settings, a.tokens[a.zhang])
    page = await (await client.get("/my-case")).text()
    assert "已盖章" in page


async def test_changed_text_invalidates_and_superseded_cannot_be_signed(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    client, csrf = await party_browser(aiohttp_client, settings, a.tokens[a.zhang])
    status, _ = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID)
    assert status == 200
    # The text changes: a new version supersedes the signed one.
    new_id = await issue_agreement(
        db, settings, a.case_id, terms=["李四于2026年12月10日前赔偿张三维修费人民币两千元。"]
    )
    page = await (await client.get("/my-case")).text()
    assert "签名已失效：协议内容已更改" in page
    assert f'href="/my-case/sign/{new_id}"' in page
    before = await count(db, DocumentSignature)
    status, page = await sign(client, csrf, a.agreement_id, "张三", ZHANG_ID)
    assert status == 409 and "该版本已被新版本取代" in page
    assert await count(db, DocumentSignature) == before
    # The newer version is signable.
    status, _ = await sign(client, csrf, new_id, "张三", ZHANG_ID)
    assert status == 200
    old = await db.get(DocumentSignature, 1)
    assert old is not None
    documents = {r.document_id for r in (await db.execute(select(DocumentSignature))).scalars()}
    assert documents == {a.agreement_id, new_id}


async def test_a_draft_cannot_be_signed(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    case = await db.get(Case, a.case_id)
    assert case is not None
    await db.refresh(case, ["parties"])
    draft = await issue_document(
        db,
        case,
        DocumentKind.AGREEMENT,
        AGREEMENT_DATA,
        created_by=None,
        template_dir=TemplateDirs.from_settings(settings),
        status=DocumentStatus.DRAFT,
    )
    await db.commit()
    client, csrf = await party_browser(aiohttp_client, settings, a.tokens[a.zhang])
    status, _ = await sign(client, csrf, draft.id, "张三", ZHANG_ID)
    assert status == 404  # a party never sees drafts
    assert await count(db, DocumentSignature) == 0


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Copy the zip ``source`` to ``target``, passing each member through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change(name, old.read(name)))


async def test_bundle_verifies_and_tampering_is_named(
    aiohttp_client: Any, settings: Settings, db: AsyncSession, world: World
) -> None:
    a = await arrange(db, settings, world)
    await sign_and_seal(aiohttp_client, settings, a)
    staff, _ = await staff_browser(aiohttp_client, settings, "lz_mediator")
    response = await staff.get(f"/cases/{a.case_id}/signed/{a.agreement_id}.zip")
    assert response.status == 200 and response.content_type == "application/zip"
    bundle = Path(settings.data_dir) / "agreement.zip"
    bundle.write_bytes(await response.read())
    report = verify_document_bundle(bundle)
    assert report.ok, report.summary()
    assert len([n for n in report.notes if "valid" in n]) == 4  # 3 signatures + the seal
    # Another case's staff cannot fetch it.
    other, _ = await staff_browser(aiohttp_client, settings, "mq_clerk")
    assert (await other.get(f"/cases/{a.case_id}/signed/{a.agreement_id}.zip")).status == 404
    # `bilin verify` dispatches to it (exit 0 intact).
    done = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "bilin"), "verify", str(bundle)],
        capture_output=True,
        text=True,
        env={**os.environ, "BILIN_DATA_DIR": str(settings.data_dir)},
    )
    assert done.returncode == 0, done.stdout + done.stderr

    sig_ids = [r.id for r in (await db.execute(select(DocumentSignature).order_by("id"))).scalars()]
    # One changed character of the text.
    changed = Path(settings.data_dir) / "changed.zip"
    _rewrite(
        bundle,
        changed,
        lambda n, b: b.replace("三千元".encode(), "三万元".encode()) if n == "document.html" else b,
    )
    report = verify_document_bundle(changed)
    assert not report.ok and any(
        p.startswith("document.html: SHA-256 mismatch") for p in report.problems
    )

    # A signature's binding edited (another party name).
    def edit_binding(name: str, data: bytes) -> bytes:
        if name != "document.json":
            return data
        body = json.loads(data)
        body["signatures"][1]["binding"] = body["signatures"][1]["binding"].replace("李四", "李五")
        return json.dumps(body, ensure_ascii=False).encode()

    edited = Path(settings.data_dir) / "edited.zip"
    _rewrite(bundle, edited, edit_binding)
    report = verify_document_bundle(edited)
    assert f"signature #{sig_ids[1]} (李四): signature invalid (binding or signature changed)" in (
        report.problems
    )
    assert any(p.startswith("seal #") for p in report.problems)
    # A drawing replaced.
    swapped = Path(settings.data_dir) / "swapped.zip"
    other_png = base64.b64decode(drawn_png((300, 120)).split(",", 1)[1])
    _rewrite(
        bundle,
        swapped,
        lambda n, b: other_png if n == f"signatures/{sig_ids[0]}.png" else b,
    )
    report = verify_document_bundle(swapped)
    assert report.problems == [
        f"signature #{sig_ids[0]} (张三): image signatures/{sig_ids[0]}.png SHA-256 mismatch"
    ]
