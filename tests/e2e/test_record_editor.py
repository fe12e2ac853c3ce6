"""The mediation record editor in a real browser: the mediator in a live hearing opens the
record panel, adds two statements with their speakers, finds them again after a reload; a clerk
writes in the same record from the staff page meanwhile and the mediator's next save is merged
with it; the mediator signs the record off, which produces the 调解笔录 document."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, expect

from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import enter, open_link, pass_device_check
from tests.world import PASSWORD


def test_mediator_writes_the_record_in_the_live_hearing_and_signs_it_off(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    mediator = people.person()
    open_link(mediator, hearing.links["mediator"])
    pass_device_check(mediator)
    enter(mediator)

    toggle = mediator.locator("#record-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    panel = mediator.locator("#record-panel")
    expect(panel).to_be_visible()
    expect(mediator.locator("#record-saved")).to_contain_text("已保存")
    # The text box has the focus; the speaker is chosen from the hearing's seats.
    expect(mediator.locator("#record-text")).to_be_focused()
    mediator.select_option("#record-speaker", label="张三（申请人）")
    mediator.fill("#record-text", "楼上漏水三个月，要求修好并赔偿三千元。")
    mediator.click("#record-add")
    mediator.select_option("#record-speaker", label="李四（被申请人）")
    mediator.fill("#record-text", "同意修好，赔偿两千元。")
    mediator.press("#record-text", "Control+Enter")  # the keyboard way
    statements = mediator.locator("#record-statements .statement")
    expect(statements).to_have_count(2)
    expect(mediator.locator("#record-saved")).to_have_text(re.compile(r"^已保存 \d\d:\d\d:\d\d$"))
    # Each saved line shows when it was said (nothing is being recorded: the wall clock).
    for i in range(2):
        expect(statements.nth(i).locator(".statement-when")).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d$")
        )

    mediator.reload()
    mediator.locator("#record-toggle").click()
    expect(statements).to_have_count(2)
    areas = mediator.locator("#record-statements textarea")
    expect(areas.nth(0)).to_have_value("楼上漏水三个月，要求修好并赔偿三千元。")
    expect(areas.nth(1)).to_have_value("同意修好，赔偿两千元。")
    speakers = mediator.locator("#record-statements select")
    expect(speakers.nth(0).locator("option:checked")).to_have_text("张三（申请人）")
    expect(speakers.nth(1).locator("option:checked")).to_have_text("李四（被申请人）")

    # A clerk of the centre types into the same record from the staff page meanwhile.
    case_id = hearing.body["hearing"]["case_id"]
    clerk = people.person()
    clerk.goto(f"{live_server.url}/login?next=/cases/{case_id}/documents")
    clerk.fill("#username", "lz_clerk")
    clerk.fill("#password", PASSWORD)
    clerk.click("form.stack button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}/documents")
    clerk.get_by_role("link", name="打开笔录").click()
    clerk.wait_for_url(re.compile(rf".*/cases/{case_id}/record/\d+$"))
    clerk_statements = clerk.locator("#record-statements .statement")
    expect(clerk_statements).to_have_count(2)
    clerk.select_option("#record-speaker", label="lz_mediator（调解员）")
    clerk.fill("#record-text", "双方同意下周复查。")
    clerk.click("#record-add")
    expect(clerk.locator("#record-saved")).to_have_text(re.compile(r"^已保存 "))

    # The mediator's next change was made on the older version: it is merged with the
    # clerk's line, not lost, and not overwriting it.
    areas.nth(1).fill("同意修好，赔偿三千元。")
    expect(statements).to_have_count(3)
    expect(areas.nth(2)).to_have_value("双方同意下周复查。")
    expect(areas.nth(1)).to_have_value("同意修好，赔偿三千元。")
    expect(mediator.locator("#record-saved")).to_have_text(re.compile(r"^已保存 "))
    clerk.reload()
    expect(clerk_statements).to_have_count(3)
    expect(clerk.locator("#record-statements textarea").nth(1)).to_have_value(
        "同意修好，赔偿三千元。"
    )
    # The clerk types it up but does not sign it off.
    expect(clerk.locator("#record-signoff")).to_be_hidden()

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    mediator.once("dialog", accept)
    mediator.click("#record-signoff")
    expect(mediator.locator("#record-signed")).to_contain_text("签署确认")
    expect(mediator.locator("#record-form")).to_be_hidden()
    link = mediator.locator("#record-document-link")
    href = link.get_attribute("href")
    assert href is not None and re.fullmatch(r"/documents/\d+", href)
    document = clerk  # the clerk reads the document on the staff side
    document.goto(f"{live_server.url}{href}")
    body = document.locator(".doc-page")
    expect(body).to_contain_text("调解笔录")
    expect(body).to_contain_text("张三：楼上漏水三个月，要求修好并赔偿三千元。")
    expect(body).to_contain_text("李四：同意修好，赔偿三千元。")
    expect(body).to_contain_text("lz_mediator：双方同意下周复查。")
    expect(document.locator("#doc-status")).to_have_text("定稿")
    pdf = document.request.get(f"{live_server.url}{href}.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
