"""The join page in a real browser: device check, identity and consent, through a real
invitation link. (The hearing itself is in ``test_live_media.py``.)"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import (
    DECLARED_NAMES,
    ID_NUMBERS,
    answer_consent,
    enter,
    open_link,
    pass_device_check,
)


def test_a_party_checks_devices_declares_identity_declines_recording_and_enters(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    page = people.person()
    open_link(page, hearing.links["respondent"])
    # The token left the address bar; the page speaks Chinese by default.
    assert page.url.endswith("/join")
    expect(page.locator("h1")).to_contain_text("李四，您好")
    expect(page.locator("#dc-h")).to_have_text("检查摄像头、麦克风和扬声器")
    # Camera preview plays, the level meter hears the fake microphone, devices are listed.
    page.wait_for_function("() => document.querySelector('#dc-video').videoWidth > 0")
    expect(page.locator("#dc-mic-status")).to_have_text("麦克风工作正常，已检测到声音。")
    assert page.locator("#dc-camera option").count() >= 1
    assert page.locator("#dc-microphone option").count() >= 1
    # The speaker test plays a generated tone and says what to listen for.
    page.click("#dc-tone")
    expect(page.locator("#dc-tone-status")).to_contain_text("两声提示音", timeout=5000)
    # Audio only: the camera goes off.
    page.check('input[name="dc-mode"][value="audio"]')
    expect(page.locator("#dc-video-off")).to_be_visible()
    page.check('input[name="dc-mode"][value="video"]')
    pass_device_check(page)

    # Identity: a malformed number is caught in the page, a wrong check digit by the server.
    expect(page.locator("#id-h")).to_be_focused()
    page.fill("#id-name", DECLARED_NAMES["respondent"])
    page.fill("#id-number", "1234")
    page.click("#id-submit")
    expect(page.locator("#id-number-error")).to_have_text("请填写18位居民身份证号码")
    expect(page.locator("#id-number")).to_have_attribute("aria-invalid", "true")
    wrong = ID_NUMBERS["respondent"][:-1] + ("0" if ID_NUMBERS["respondent"][-1] != "0" else "1")
    page.fill("#id-number", wrong)
    page.click("#id-submit")
    expect(page.locator("#id-errors")).to_be_visible()
    expect(page.locator("#id-number-error")).not_to_be_empty()
    page.fill("#id-number", ID_NUMBERS["respondent"])
    page.click("#id-submit")

    # Consent: the versioned notice from the API; declining is allowed and explained.
    expect(page.locator("#cs-version")).to_have_text(re.compile(r"告知书版本：\S+"))
    expect(page.locator("#cs-text")).not_to_contain_text("正在加载")
    page.click("#cs-submit")
    expect(page.locator("#cs-errors")).to_contain_text("请选择是否同意录音录像")
    answer_consent(page, given=False)
    expect(page.locator("#rd-list")).to_contain_text("系统将不会录制您的声音和画面")
    expect(page.locator("#rd-list")).to_contain_text("身份信息已提交")
    enter(page)
    # Reloading the join page now shows the earlier answers as done.
    page.goto(live_server.url + "/join")
    page.click("#dc-next")
    expect(page.locator("#id-done")).to_contain_text("您已提交过身份信息")


def test_denied_camera_and_microphone_are_explained_and_a_listener_gets_in(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    page = people.person()
    # As if the person had clicked "Block" in the browser's permission prompt.
    page.context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
    )
    open_link(page, hearing.links["applicant"])
    problem = page.locator("#dc-problem")
    expect(problem).to_be_visible()
    expect(problem.locator("h3")).to_have_text("浏览器未获准使用摄像头和麦克风")
    expect(problem).to_contain_text("地址栏左侧")
    expect(problem).to_contain_text("进入会议旁听")
    # Listening only needs no device at all.
    page.check('input[name="dc-mode"][value="listen"]')
    expect(problem).to_be_hidden()
    expect(page.locator("#dc-mic-status")).to_have_text("您选择了仅旁听，不使用麦克风。")
    page.click("#dc-next")
    page.fill("#id-name", DECLARED_NAMES["applicant"])
    page.fill("#id-number", ID_NUMBERS["applicant"])
    page.click("#id-submit")
    answer_consent(page, given=True)
    expect(page.locator("#rd-list")).to_contain_text("您将以旁听方式参加")
    expect(page.locator("#rd-list")).to_contain_text("您已同意录音录像")


def test_english_on_a_phone_and_a_staff_seat_skips_identity(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    page = people.person(width=390, height=844)
    open_link(page, hearing.links["mediator"] + "?lang=en")
    page.goto(live_server.url + "/join?lang=en")
    expect(page.locator("#dc-h")).to_have_text("Check your camera, microphone and speaker")
    # A presiding seat declares nothing and does not wait to be admitted.
    assert page.locator('.join-steps li[data-step="identity"]').count() == 0
    assert page.locator('.join-steps li[data-step="waiting_room"]').count() == 0
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    pass_device_check(page)
    expect(page.locator("#rd-list")).to_contain_text("video and sound")
    # The live page without a finished join is sent back for parties, not for the mediator.
    enter(page)


def test_without_a_camera_a_party_joins_by_voice_and_cannot_skip_the_steps(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    page = people.person()
    # A computer with a microphone but no camera.
    page.context.add_init_script(
        "(() => { const original = navigator.mediaDevices.getUserMedia.bind("
        "navigator.mediaDevices); navigator.mediaDevices.getUserMedia = (c) => c.video"
        " ? Promise.reject(new DOMException('none', 'NotFoundError')) : original(c); })();"
    )
    open_link(page, hearing.links["applicant"])
    # Going straight to the room is sent back to the steps a party must take first.
    page.goto(live_server.url + "/live")
    assert page.url.endswith("/join")
    problem = page.locator("#dc-problem")
    expect(problem.locator("h3")).to_have_text("未检测到摄像头")
    expect(problem).to_contain_text("仅用语音参加")
    # The microphone still works and is checked.
    expect(page.locator("#dc-mic-status")).to_have_text("麦克风工作正常，已检测到声音。")
    page.click("#dc-next")
    page.fill("#id-number", ID_NUMBERS["applicant"])
    page.click("#id-submit")
    answer_consent(page, given=True)
    expect(page.locator("#rd-list")).to_contain_text("您将仅以语音方式参加")
