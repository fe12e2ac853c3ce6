"""The hearing in real browsers: media flows between everyone admitted, and only there.

Each person is a Chromium context with a fake camera and microphone who joined through their
real invitation link; what a page decodes is read from ``getStats()`` (inbound-rtp
``framesDecoded``, ``totalSamplesReceived``, ``packetsReceived``) on its subscribe connection.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import (
    inbound,
    join,
    me,
    tiles_of,
    totals,
    wait_decoding,
    wait_first_frame,
    wait_location,
    watch,
)


def _no_media_from(page: Page, *participant_ids: int, timeout: float = 5_000) -> None:
    """Wait until ``page`` has no subscribe slot left for these participants (the server stopped
    forwarding them), within ``timeout``."""
    since = watch(page)
    page.wait_for_function(
        "([ids, since]) => window.__e2eStatsAt > since"
        " && ids.every((id) => !(id in window.__e2eStats))",
        arg=[list(participant_ids), since],
        polling=100,
        timeout=timeout,
    )


def _open_people(page: Page) -> None:
    if page.locator("#side").is_hidden():
        page.click("#ctl-people")
    expect(page.locator("#pane-people")).to_be_visible()


def _menu(page: Page, participant_id: int) -> None:
    """Open the moderator's action menu of one participant."""
    _open_people(page)
    page.click(f'#people-list [data-participant-id="{participant_id}"] summary')


def test_three_people_see_and_hear_each_other_and_the_waiting_room_gets_nothing(
    live_server: LiveServer, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    hearing = live_server.schedule_hearing()
    links = hearing.links
    mediator, applicant, respondent = people.person(), people.person(), people.person()
    join(mediator, links["mediator"], "mediator")
    wait_location(mediator, "main")
    opened = join(applicant, links["applicant"], "applicant")
    join(respondent, links["respondent"], "respondent", consent=False)
    wait_location(applicant, "waiting")
    wait_location(respondent, "waiting")
    m_id, a_id, r_id = me(mediator), me(applicant), me(respondent)
    expect(applicant.locator("#waiting-h")).to_have_text("请在等候室稍候")
    expect(applicant.locator("#waiting-hosts")).to_have_text("调解员 lz_mediator 已在会议中。")
    expect(applicant.locator("#waiting-preview video")).to_have_count(1)

    # The mediator sees both waiting; the one who declined recording is flagged.
    _open_people(mediator)
    expect(mediator.locator("#wait-list .person")).to_have_count(2)
    declined = mediator.locator(f'#wait-list [data-participant-id="{r_id}"]')
    expect(declined).to_contain_text("不同意录制")
    admitted = time.monotonic()
    mediator.click(f'#wait-list [data-participant-id="{a_id}"] button')
    wait_location(applicant, "main")
    wait_first_frame(applicant)
    admit_to_frame_s = time.monotonic() - admitted
    first_frame_s = time.monotonic() - opened
    wait_decoding(applicant, m_id)
    wait_decoding(mediator, a_id)

    # Media flows in the main room, yet the respondent, still waiting, gets no slot, no
    # packet, no frame, and nobody gets theirs.
    assert inbound(respondent) == {}
    assert totals(respondent) == {"packets": 0, "frames": 0, "samples": 0}
    assert r_id not in inbound(mediator) and r_id not in inbound(applicant)
    wait_decoding(mediator, a_id)
    assert totals(respondent)["packets"] == 0

    mediator.click("#admit-all")
    wait_location(respondent, "main")
    expect(respondent.locator(".toast")).to_contain_text("调解员已准许您进入会议")
    for page, others in (
        (mediator, (a_id, r_id)),
        (applicant, (m_id, r_id)),
        (respondent, (m_id, a_id)),
    ):
        for other in others:
            wait_decoding(page, other)
            assert tiles_of(page, other) == 1
    expect(applicant.locator(f'.tile[data-participant-id="{r_id}"]')).to_contain_text("李四")
    expect(applicant.locator(f'.tile[data-participant-id="{r_id}"]')).to_contain_text("被申请人")

    # A reload brings the applicant back as themself, into the main room, once.
    reloaded = time.monotonic()
    applicant.reload()
    wait_location(applicant, "main")
    wait_first_frame(applicant)
    rejoin_s = time.monotonic() - reloaded
    wait_decoding(applicant, m_id)
    wait_decoding(mediator, a_id)
    wait_decoding(respondent, a_id)
    assert tiles_of(mediator, a_id) == 1 and tiles_of(respondent, a_id) == 1
    expect(mediator.locator(f'#people-list [data-participant-id="{a_id}"]')).to_have_count(1)

    with capsys.disabled():
        print(
            f"\n[e2e figures] link opened → admitted → first remote frame decoded:"
            f" {first_frame_s:.2f} s (device check, identity, consent and admission included);"
            f" admit click → first remote frame decoded: {admit_to_frame_s:.2f} s;"
            f" reload → first remote frame decoded: {rejoin_s:.2f} s"
        )


def test_caucus_isolation_removal_and_revocation_at_the_media_level(
    live_server: LiveServer, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    hearing = live_server.schedule_hearing()
    links = hearing.links
    mediator, applicant, respondent = people.person(), people.person(), people.person()
    join(mediator, links["mediator"], "mediator")
    join(applicant, links["applicant"], "applicant")
    join(respondent, links["respondent"], "respondent")
    m_id, a_id, r_id = me(mediator), me(applicant), me(respondent)
    _open_people(mediator)
    expect(mediator.locator("#wait-list .person")).to_have_count(2)
    mediator.click("#admit-all")
    wait_location(applicant, "main")
    wait_location(respondent, "main")
    wait_decoding(applicant, r_id)
    wait_decoding(respondent, a_id)

    # A caucus room for the applicant: opened and filled from the moderator's panel.
    mediator.fill("#caucus-label", "申请人单独沟通")
    mediator.click("#caucus-form button")
    room = mediator.locator("#room-list .room-item").nth(1)
    expect(room).to_contain_text("申请人单独沟通")
    caucus = room.get_attribute("data-room")
    assert caucus and caucus.startswith("caucus-")
    _menu(mediator, a_id)
    mediator.select_option(f'#people-list [data-participant-id="{a_id}"] select', caucus)
    mediator.click(f'#people-list [data-participant-id="{a_id}"] .menu-move button')
    wait_location(applicant, caucus)
    # Neither side receives anything from the other room: the slots are gone, and while
    # the main room goes on, not one more packet reaches the applicant's connection.
    _no_media_from(applicant, m_id, r_id)
    _no_media_from(respondent, a_id)
    _no_media_from(mediator, a_id)
    alone = totals(applicant)
    wait_decoding(respondent, m_id)
    wait_decoding(mediator, r_id)
    assert totals(applicant)["packets"] == alone["packets"]
    assert totals(applicant)["frames"] == alone["frames"]
    expect(applicant.locator("#room-location")).to_contain_text("申请人单独沟通")
    # The mediator joins the caucus: the applicant decodes them, the respondent no longer does.
    room.locator("button", has_text="前往").click()
    wait_location(mediator, caucus)
    wait_decoding(applicant, m_id)
    wait_decoding(mediator, a_id)
    _no_media_from(respondent, m_id)
    _no_media_from(mediator, r_id)
    # Closing the caucus brings everyone back to the main room.
    mediator.locator("#room-list .room-item", has_text="申请人单独沟通").locator(
        "button", has_text="关闭"
    ).click()
    wait_location(applicant, "main")
    wait_location(mediator, "main")
    wait_decoding(respondent, a_id)

    # Removed by the mediator: out within 5 s, and nobody receives their media any more.
    _menu(mediator, r_id)
    mediator.click(f'#people-list [data-participant-id="{r_id}"] .menu-item.danger')
    removed_at = time.monotonic()
    mediator.click('#dialog button[value="yes"]')
    expect(respondent.locator("#ended-h")).to_have_text("您已被移出会议", timeout=5_000)
    _no_media_from(mediator, r_id, timeout=5_000)
    _no_media_from(applicant, r_id, timeout=5_000)
    removed_s = time.monotonic() - removed_at
    assert inbound(respondent) == {}

    # Revoked link: the applicant is out within 5 s too.
    revoked_at = time.monotonic()
    live_server.revoke(hearing, "applicant")
    expect(applicant.locator("#ended-h")).to_have_text("您的邀请链接已失效", timeout=5_000)
    _no_media_from(mediator, a_id, timeout=5_000)
    revoked_s = time.monotonic() - revoked_at
    assert inbound(applicant) == {}
    # The revoked link's session is gone: reloading finds nothing to join.
    assert applicant.goto(live_server.url + "/live").status == 404

    with capsys.disabled():
        print(
            f"\n[e2e figures] removal → media gone: {removed_s:.2f} s;"
            f" revocation → media gone: {revoked_s:.2f} s"
        )
