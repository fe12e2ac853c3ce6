"""The hearing's controls in real browsers: a logged-in mediator (no link) and a party; a raised
hand, a mute request that only asks, chat, the identity check on camera, screen sharing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import (
    enter,
    inbound,
    join,
    me,
    pass_device_check,
    wait_decoding,
    wait_location,
    watch,
)
from tests.world import PASSWORD


def test_mediator_controls_reach_the_party_who_stays_in_charge_of_their_own_devices(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    # The mediator logs in and joins from the hearing's page, without a link.
    mediator = people.person()
    mediator.goto(f"{live_server.url}/login?next=/hearings/{hearing.hearing_id}/join")
    mediator.fill("#username", "lz_mediator")
    mediator.fill("#password", PASSWORD)
    mediator.click("form.stack button[type=submit]")
    mediator.wait_for_url(f"**/hearings/{hearing.hearing_id}/join")
    pass_device_check(mediator)
    enter_url = mediator.locator("#rd-enter").get_attribute("href")
    assert enter_url == f"/hearings/{hearing.hearing_id}/live"
    enter(mediator)
    wait_location(mediator, "main")
    applicant = people.person()
    join(applicant, hearing.links["applicant"], "applicant")
    a_id = me(applicant)
    mediator.click("#ctl-people")
    mediator.click(f'#wait-list [data-participant-id="{a_id}"] button')
    wait_location(applicant, "main")
    party_tile = mediator.locator(f'.tile[data-participant-id="{a_id}"]')
    expect(party_tile).to_contain_text("张三")

    # A raised hand shows on the mediator's screen.
    applicant.click("#ctl-hand")
    expect(applicant.locator("#ctl-hand")).to_have_attribute("aria-pressed", "true")
    expect(party_tile).to_have_class(re.compile(r"\bhand\b"))
    expect(party_tile.locator(".flag-hand")).to_have_count(1)

    # A mute request is a question: nothing changes until the party answers it.
    person = mediator.locator(f'#people-list [data-participant-id="{a_id}"]')
    person.locator("summary").click()
    person.locator(".menu-item", has_text="请其关闭麦克风").click()
    dialog = applicant.locator("#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("lz_mediator请您关闭麦克风")
    expect(applicant.locator("#ctl-mic")).to_have_attribute("data-on", "1")
    dialog.locator('button[value="no"]').click()
    expect(applicant.locator("#ctl-mic")).to_have_attribute("data-on", "1")
    person.locator("summary").click()
    person.locator(".menu-item", has_text="请其关闭麦克风").click()
    dialog.locator('button[value="yes"]').click()
    expect(applicant.locator("#ctl-mic .ctl-text")).to_have_text("解除静音")
    expect(party_tile.locator(".tile-icons")).to_contain_text("麦克风已关闭")
    # Unmuting is the party's own act.
    applicant.click("#ctl-mic")
    expect(party_tile.locator(".tile-icons")).not_to_contain_text("麦克风已关闭")

    # Chat reaches the room, with an unread mark until the panel is opened.
    applicant.click("#ctl-chat")
    applicant.fill("#chat-text", "我已准备好材料。")
    applicant.press("#chat-text", "Enter")
    expect(mediator.locator("#ctl-chat-badge")).to_have_text("1")
    mediator.click("#ctl-chat")
    message = mediator.locator("#chat-log .chat-msg").last
    expect(message).to_contain_text("张三")
    expect(message).to_contain_text("我已准备好材料。")
    expect(mediator.locator("#ctl-chat-badge")).to_be_hidden()

    # The identity check on camera: the declared name and masked number, then recorded.
    mediator.click("#tab-people")
    person.locator("summary").click()
    person.locator(".menu-item", has_text="核验身份").click()
    facts = mediator.locator("#dialog .identity-facts")
    expect(facts).to_contain_text("张三")
    expect(facts).to_contain_text("*" * 11)
    expect(facts).to_contain_text("一致")
    mediator.click('#dialog button[value="yes"]')
    expect(person.locator(".flag-ok")).to_have_count(1)
    detail = mediator.request.get(f"{live_server.url}/api/hearings/{hearing.hearing_id}").json()
    seat = next(p for p in detail["participants"] if p["id"] == a_id)
    assert seat["identity"]["check"]["method"] == "id_document_on_camera"

    # Screen sharing: the party sees and decodes a second video from the mediator.
    m_id = me(mediator)
    mediator.click("#ctl-screen")
    screen_tile = applicant.locator(f'.tile-screen[data-participant-id="{m_id}"]')
    expect(screen_tile).to_contain_text("lz_mediator 的共享屏幕")
    watch(applicant)
    applicant.wait_for_function(
        "id => (window.__e2eStats[id] || {}).screen > 10", arg=m_id, polling=100
    )
    mediator.click("#ctl-screen")
    expect(screen_tile).to_have_count(0)
    assert inbound(applicant)[m_id]["video"] > 0


# Keeps every WebSocket the page opens, so the test can cut them as a network drop would.
_KEEP_SOCKETS = """
(() => {
    const Original = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Original {
        constructor(...args) {
            super(...args);
            window.__sockets.push(this);
        }
    };
})();
"""


def test_after_a_network_drop_the_page_reconnects_as_the_same_person(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    mediator, applicant = people.person(), people.person()
    applicant.context.add_init_script(_KEEP_SOCKETS)
    join(mediator, hearing.links["mediator"], "mediator")
    join(applicant, hearing.links["applicant"], "applicant")
    m_id, a_id = me(mediator), me(applicant)
    mediator.click("#ctl-people")
    mediator.click(f'#wait-list [data-participant-id="{a_id}"] button')
    wait_location(applicant, "main")
    wait_decoding(mediator, a_id)
    # The connection drops under the page (no close from the server, no reload).
    opened = applicant.evaluate(
        "() => { const open = window.__sockets.filter((s) => s.readyState === 1);"
        " open.forEach((s) => s.close()); return window.__sockets.length; }"
    )
    expect(applicant.locator("#banner")).to_have_text("网络连接中断，正在自动重新连接……")
    # It reconnects by itself, back into the main room as the same participant...
    expect(applicant.locator("#live-app")).to_have_attribute("data-connected", "yes")
    assert applicant.evaluate("window.__sockets.length") > opened
    wait_location(applicant, "main")
    assert me(applicant) == a_id
    # ...with fresh media both ways, and still one tile on the other side.
    wait_decoding(applicant, m_id)
    wait_decoding(mediator, a_id)
    expect(mediator.locator(f'.tile[data-participant-id="{a_id}"]')).to_have_count(1)


def test_a_listener_receives_without_publishing_and_can_speak_later(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    mediator, listener = people.person(), people.person()
    join(mediator, hearing.links["mediator"], "mediator")
    join(listener, hearing.links["applicant"], "applicant", mode="listen")
    m_id, a_id = me(mediator), me(listener)
    mediator.click("#ctl-people")
    mediator.click(f'#wait-list [data-participant-id="{a_id}"] button')
    wait_location(listener, "main")
    # No camera, no microphone: still sees and hears the mediator.
    wait_decoding(listener, m_id)
    expect(listener.locator("#ctl-mic .ctl-text")).to_have_text("解除静音")
    tile = mediator.locator(f'.tile[data-participant-id="{a_id}"]')
    expect(tile).to_have_attribute("data-video", "off")
    expect(tile.locator(".tile-icons")).to_contain_text("麦克风已关闭")
    # Turning the microphone on publishes it: the mediator starts receiving the voice.
    listener.click("#ctl-mic")
    expect(listener.locator("#ctl-mic .ctl-text")).to_have_text("静音")
    watch(mediator)
    mediator.wait_for_function(
        "id => { const s = window.__e2eStats[id]; return Boolean(s) && s.audio > 9600"
        " && s.packets > 20; }",
        arg=a_id,
        polling=100,
        timeout=30_000,
    )
    expect(tile.locator(".tile-icons")).not_to_contain_text("麦克风已关闭")
