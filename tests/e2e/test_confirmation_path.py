"""Issue 5's whole path in Chromium: a hearing with the mediator and both parties (fake
devices) where the mediator writes and signs off the record; the agreement drafted and
finalised; both parties sign on their personal links (the respondent on a phone-width
screen) and the mediator signs, which seals it; the joint application confirmed by each
party; the judge finds it in the court's queue, schedules a confirmation hearing, joins it
with the parties, and confirms; the ruling reaches the parties and the PDFs hold the Chinese
text.

The hearing's speech becoming a machine transcript beside the recording is the browser test
next to this one (test_transcript_path.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from server.auth.tokens import new_token, token_hash
from server.db import Party
from server.db.engine import create_engine, create_sessionmaker
from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import enter, join, open_link, pass_device_check, wait_location
from tests.server.test_hearings_support import APPLICANT_ID
from tests.world import PASSWORD

# Assertions wait this long (ms): the machine may be busy with other suites.
WAIT = 30_000


def personal_links(server: LiveServer, case_id: int) -> dict[str, str]:
    """Each party's personal link (/p/…), as the centre hands them out at intake."""

    async def run() -> dict[str, str]:
        engine = create_engine(server.settings)
        links: dict[str, str] = {}
        async with create_sessionmaker(engine)() as db:
            for party in (
                await db.execute(select(Party).where(Party.case_id == case_id))
            ).scalars():
                token = new_token()
                party.link_token_hash = token_hash(token)
                links[party.name] = f"{server.url}/p/{token}"
            await db.commit()
        await engine.dispose()
        return links

    return server.call(run())


def log_in(page: Page, server: LiveServer, username: str, next_path: str) -> None:
    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def draw_signature(page: Page) -> None:
    """A signature drawn on the pad with the pointer, in three strokes."""
    canvas = page.locator("[data-pad-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in (
        [(0.1, 0.7), (0.25, 0.3), (0.4, 0.7)],
        [(0.45, 0.5), (0.6, 0.3), (0.7, 0.6)],
        [(0.75, 0.4), (0.9, 0.6)],
    ):
        page.mouse.move(x + stroke[0][0] * w, y + stroke[0][1] * h)
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(x + px * w, y + py * h, steps=5)
        page.mouse.up()
    expect(page.locator("[data-pad-status]")).to_contain_text("3", timeout=WAIT)


def admit_everyone(host: Page, waiting: list[Page]) -> None:
    """The presiding person admits everyone from the waiting room into the main room."""
    if host.locator("#side").is_hidden():
        host.click("#ctl-people")
    expect(host.locator("#wait-list .person")).to_have_count(len(waiting), timeout=20_000)
    host.click("#admit-all")
    for page in waiting:
        wait_location(page, "main")


def pdf_text(page: Page, url: str, where: Path) -> str:
    response = page.request.get(url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    where.write_bytes(response.body())
    return subprocess.run(
        ["pdftotext", str(where), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_from_hearing_to_confirmed_agreement(
    live_server: LiveServer, people: People, tmp_path: Path
) -> None:
    hearing = live_server.schedule_hearing()
    case_id = int(hearing.body["hearing"]["case_id"])
    links = personal_links(live_server, case_id)

    # The mediation hearing: mediator and both parties with fake camera and microphone.
    mediator = people.person()
    open_link(mediator, hearing.links["mediator"])
    pass_device_check(mediator)
    enter(mediator)
    parties = [people.person(), people.person()]
    for page, role in zip(parties, ("applicant", "respondent"), strict=True):
        join(page, hearing.links[role], role)
    admit_everyone(mediator, parties)
    # The mediator writes the record and signs it off (H6's panel).
    mediator.locator("#record-toggle").click()
    mediator.select_option("#record-speaker", label="张三（申请人）")
    mediator.fill("#record-text", "楼上漏水三个月，要求赔偿三千元。")
    mediator.click("#record-add")
    mediator.select_option("#record-speaker", label="李四（被申请人）")
    mediator.fill("#record-text", "同意赔偿三千元。")
    mediator.click("#record-add")
    expect(mediator.locator("#record-statements .statement")).to_have_count(2, timeout=WAIT)

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    expect(mediator.locator("#record-saved")).to_have_text(re.compile(r"^已保存 "), timeout=WAIT)
    mediator.once("dialog", accept)
    mediator.click("#record-signoff")
    expect(mediator.locator("#record-signed")).to_be_visible(timeout=WAIT)

    # The agreement: drafted from the form, then finalised.
    office = people.person()
    log_in(office, live_server, "lz_mediator", f"/cases/{case_id}/documents")
    office.fill(
        "#agreement-terms", "李四于2026年12月10日前赔偿张三维修费人民币三千元。\n双方再无其他争议。"
    )
    office.fill("#agreement-performance", "一次性转账支付。")
    office.click("#agreement-form button[type=submit]")
    office.locator("#doc-list form[action$='/finalise'] button").first.click()
    expect(office.locator("#doc-list")).to_contain_text("定稿", timeout=WAIT)

    # Both parties sign on their own links: the applicant at a desk, the respondent on a phone.
    zhang = people.person()
    li = people.person(width=375, height=740)
    for page, name, link in ((zhang, "张三", links["张三"]), (li, "李四", links["李四"])):
        page.goto(link)
        page.wait_for_url("**/my-case")
        # The signed-off record is shown first; each party confirms it.
        page.get_by_role("button", name="确认笔录内容无误").click()
        expect(page.locator("#records")).to_contain_text("您已确认调解笔录", timeout=WAIT)
        page.get_by_role("link", name="阅读并签名").click()
        expect(page.locator(".doc-scroll")).to_contain_text("三千元", timeout=WAIT)
        page.fill("#full_name", name)
        if page.locator("#id_tail").count():
            page.fill("#id_tail", "000011")  # wrong on purpose: refused, nothing signed
            draw_signature(page)
            page.click("[data-sign-form] button[type=submit]")
            expect(page.locator(".alert[role=alert]")).to_contain_text(
                "身份核对未通过", timeout=WAIT
            )
            page.fill("#full_name", name)
            page.fill("#id_tail", APPLICANT_ID[-6:])
        draw_signature(page)
        page.click("[data-sign-form] button[type=submit]")
        page.wait_for_url("**/my-case?signed=1*")
        expect(page.locator("#agreement")).to_contain_text("签名成功", timeout=WAIT)
    assert li.evaluate("document.documentElement.scrollWidth") <= 375

    # The mediator signs last (the centre's seal follows) and proposes the court.
    office.goto(f"{live_server.url}/cases/{case_id}/agreement")
    draw_signature(office)
    office.click("[data-sign-form] button[type=submit]")
    expect(office.locator(".notice-ok")).to_contain_text("印章已加盖", timeout=WAIT)
    office.select_option("#court", label="凉州区人民法院")
    office.click("#confirmation button[type=submit]")
    expect(office.locator("#confirmation")).to_contain_text("等待当事人确认", timeout=WAIT)

    # Each party confirms the joint application; only the second files it.
    zhang.goto(f"{live_server.url}/my-case")
    zhang.get_by_role("button", name="确认共同申请司法确认").click()
    expect(zhang.locator("#confirmation")).to_contain_text("正在等待其他当事人确认", timeout=WAIT)
    li.goto(f"{live_server.url}/my-case")
    li.get_by_role("button", name="确认共同申请司法确认").click()
    expect(li.locator("#confirmation")).to_contain_text("申请已提交法院", timeout=WAIT)

    # The judge: the court's queue, the review page, a confirmation hearing.
    judge = people.person()
    log_in(judge, live_server, "lz_judge", "/")
    judge.locator("#confirmations a").first.click()
    expect(judge.locator("h1")).to_have_text("司法确认审查", timeout=WAIT)
    expect(judge.locator(".clock")).to_contain_text("剩余15天", timeout=WAIT)
    review_url = judge.url
    judge.get_by_role("link", name="安排确认听证").click()
    judge.select_option("#kind", "confirmation_hearing")
    judge.click("form.schedule-form button[type=submit]")
    judge.wait_for_url("**/hearings/*?done=scheduled")
    hearing_url = judge.url.split("?")[0]
    judge.click("form.issue-all button[type=submit]")
    party_links = {
        name: judge.locator(f'input.link-url[aria-label$=": {name}"]').input_value()
        for name in ("张三", "李四")
    }
    judge.goto(f"{hearing_url}/join")
    judge.wait_for_selector("#step-device_check:not([hidden])")
    pass_device_check(judge)
    enter(judge)
    parties = [people.person(), people.person()]
    join(parties[0], party_links["张三"], "applicant")
    join(parties[1], party_links["李四"], "respondent")
    admit_everyone(judge, parties)

    # The decision: confirmed; the ruling is issued and sealed.
    judge.goto(review_url)
    judge.check("input[name=decision][value=confirm]")
    judge.click("form[action$='/decide'] button[type=submit]")
    expect(judge.locator(".notice-ok")).to_contain_text("裁定已作出", timeout=WAIT)

    # The parties see the ruling; the PDFs hold the Chinese text.
    zhang.goto(f"{live_server.url}/my-case")
    expect(zhang.locator("#confirmation")).to_contain_text("确认调解协议有效", timeout=WAIT)
    ruling_pdf = zhang.get_by_role("link", name="下载裁定书PDF").get_attribute("href")
    agreement_pdf = zhang.locator("#agreement a[href$='.pdf']").first.get_attribute("href")
    assert ruling_pdf and agreement_pdf
    text = pdf_text(zhang, f"{live_server.url}{ruling_pdf}", tmp_path / "ruling.pdf")
    assert "民事裁定书" in text and "张三" in text and "李四" in text and "有效" in text
    text = pdf_text(zhang, f"{live_server.url}{agreement_pdf}", tmp_path / "agreement.pdf")
    assert "人民调解协议书" in text and "三千元" in text
