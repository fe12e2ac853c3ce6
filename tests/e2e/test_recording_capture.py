"""Recording from real browsers: the mediator clicks record, both people see the indicator,
the mediator stops, and each person's camera and microphone are in their own files that play.

Chromium's fake camera and microphone; the files are read back from the server's spool by the
ids in the database and decoded with PyAV.
"""

from __future__ import annotations

from pathlib import Path

import av
from playwright.sync_api import Page, expect
from sqlalchemy import select

from recording.vocabulary import RecordingStatus, SegmentStatus
from server.appkeys import RECORDING, SESSIONMAKER
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from tests.e2e.conftest import LiveServer, People
from tests.e2e.helpers import join, me, wait_decoding, wait_location
from tests.e2e.test_review_page import SYNCED, login_and_open, wait_for
from tests.e2e.test_review_page import state as review_state

Recorded = tuple[RecordingSession, list[RecordingTrack], list[RecordingSegment], Path]


def _recorded(server: LiveServer, hearing_id: int) -> Recorded:
    """The hearing's recording session, its tracks and segments, and the spool root."""

    async def run() -> Recorded:
        app = server.runner.app
        async with app[SESSIONMAKER]() as db:
            session = await db.scalar(
                select(RecordingSession).where(RecordingSession.hearing_id == hearing_id)
            )
            assert session is not None
            tracks = list(
                (
                    await db.scalars(
                        select(RecordingTrack).where(RecordingTrack.session_id == session.id)
                    )
                ).all()
            )
            segments = list(
                (
                    await db.scalars(
                        select(RecordingSegment).where(RecordingSegment.session_id == session.id)
                    )
                ).all()
            )
        return session, tracks, segments, app[RECORDING].spool.root

    return server.call(run())


def _flag(page: Page, status: str, text: str | None = None) -> None:
    flag = page.locator("#rec-flag")
    expect(flag).to_have_attribute("data-status", status, timeout=15_000)
    if text is not None:
        expect(flag).to_have_text(text)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def test_mediator_records_both_see_it_and_every_track_plays(
    live_server: LiveServer, people: People
) -> None:
    hearing = live_server.schedule_hearing()
    mediator, applicant = people.person(), people.person()
    join(mediator, hearing.links["mediator"], "mediator")
    wait_location(mediator, "main")
    join(applicant, hearing.links["applicant"], "applicant")
    wait_location(applicant, "waiting")
    m_id, a_id = me(mediator), me(applicant)
    if mediator.locator("#side").is_hidden():
        mediator.click("#ctl-people")
    mediator.click(f'#wait-list [data-participant-id="{a_id}"] button')
    wait_location(applicant, "main")
    wait_decoding(mediator, a_id)
    wait_decoding(applicant, m_id)

    # Only the mediator has the buttons; nobody sees a flag yet.
    expect(applicant.locator("#rec-controls")).to_be_hidden()
    expect(mediator.locator("#ctl-rec-start")).to_be_visible()
    _flag(applicant, "stopped")
    expect(applicant.locator("#rec-flag")).not_to_be_in_viewport()

    mediator.click("#ctl-rec-start")
    for page in (mediator, applicant):
        _flag(page, "recording", "正在录制")
        expect(page.locator("#rec-flag")).to_be_visible()
    expect(mediator.locator("#ctl-rec-stop")).to_be_visible()
    expect(mediator.locator("#ctl-rec-start")).to_be_hidden()

    # Some seconds of media: wait until every track has written media (the database says).
    def tracks_writing() -> bool:
        _, tracks, segments, _ = _recorded(live_server, hearing.hearing_id)
        return len(tracks) == 4 and len({s.track_id for s in segments}) == 4

    _poll(tracks_writing, mediator)
    mediator.wait_for_timeout(3000)  # media accumulates while the flag is up

    mediator.click("#ctl-rec-stop")
    mediator.locator('#dialog button[value="yes"]').click()
    for page in (mediator, applicant):
        _flag(page, "stopped")
    expect(mediator.locator("#ctl-rec-start")).to_be_visible()

    session, tracks, segments, root = _recorded(live_server, hearing.hearing_id)
    assert session.status == RecordingStatus.STOPPED
    assert {(t.participant_id, t.kind) for t in tracks} == {
        (p, k) for p in (m_id, a_id) for k in ("audio", "video")
    }
    assert segments and all(s.status == SegmentStatus.CLOSED for s in segments)
    for track in tracks:
        files = [root / s.storage_key for s in segments if s.track_id == track.id]
        assert files, track
        frames = sum(_frames(path) for path in files)
        # Several seconds: ≥ 2 s of 20 ms audio frames, or of video at a few fps.
        assert frames >= (100 if track.kind == "audio" else 20), (track.kind, frames)

    # What the browsers recorded plays in the review page, every track on one clock.
    reviewer = people.person()
    login_and_open(reviewer, live_server, session.id)
    expect(reviewer.locator(".tile")).to_have_count(2)
    reviewer.click("#rv-play")
    wait_for(reviewer, SYNCED)
    first = review_state(reviewer)
    wait_for(reviewer, f"() => window.bilinReview.state().masterMs > {first['masterMs'] + 1000}")
    # Both cameras and both microphones play together (two of each).
    wait_for(
        reviewer,
        """() => window.bilinReview.state().tiles.filter(
              (t) => t.state === "playing" && !t.paused).length === 4""",
    )
    wait_for(reviewer, SYNCED)


def _poll(condition: object, page: Page, within_ms: int = 20_000) -> None:
    """Re-check ``condition`` every 200 ms (the database has no event a page can await)."""
    assert callable(condition)
    waited = 0
    while not condition():
        assert waited < within_ms, "timed out"
        page.wait_for_timeout(200)
        waited += 200
