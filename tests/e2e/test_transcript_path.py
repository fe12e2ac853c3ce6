"""From speech in a hearing to a transcript beside the recording, in Chromium: the browsers'
microphones play synthesised English speech (espeak-ng, Chromium's fake audio file); the
mediator records; a court clerk runs the draft transcription from the recording's page; each
line is attributed to the participant whose track it came from, marked a machine draft, and
shown beside the review player, where clicking it seeks there."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from server.appkeys import SESSIONMAKER
from server.db.recording import RecordingSegment, RecordingSession, RecordingTrack
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.e2e.helpers import join, me, wait_decoding, wait_location
from tests.e2e.test_review_page import login_and_open, wait_for

SPEECH = "please sign the agreement today. the money will be paid next week."
WORDS = {"please", "sign", "agreement", "today", "money", "paid", "next", "week"}


@pytest.fixture(scope="module")
def speaking_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Chromium whose fake microphone plays a spoken sentence, then silence, in a loop."""
    espeak = shutil.which("espeak-ng")
    assert espeak is not None, "scripts/setup.sh --dev installs espeak-ng"
    wav = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(
        [espeak, "-v", "en-us", "-s", "140", "-g", "12", "-w", str(wav), SPEECH], check=True
    )
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
    )
    yield instance
    instance.close()


def _audio_written(server: LiveServer, hearing_id: int) -> tuple[int, int]:
    """The hearing's recording session and how many ms of microphone audio its closed or open
    segments cover so far (the least of the two participants)."""

    async def run() -> tuple[int, int]:
        async with server.runner.app[SESSIONMAKER]() as db:
            session = await db.scalar(
                select(RecordingSession).where(RecordingSession.hearing_id == hearing_id)
            )
            if session is None:
                return 0, 0
            rows = (
                await db.execute(
                    select(RecordingTrack.participant_id, RecordingSegment.start_ms)
                    .join(RecordingSegment, RecordingSegment.track_id == RecordingTrack.id)
                    .where(
                        RecordingTrack.session_id == session.id,
                        RecordingTrack.kind == "audio",
                    )
                )
            ).all()
            spans: dict[int, int] = {}
            for participant, start in rows:
                spans[participant] = max(spans.get(participant, 0), start)
            return session.id, (min(spans.values()) if len(spans) == 2 else 0)

    return server.call(run())


def test_speech_in_a_hearing_becomes_a_transcript_beside_the_recording(
    live_server: LiveServer, speaking_browser: Browser
) -> None:
    hearing = live_server.schedule_hearing()
    pages: list[Page] = []
    for _ in range(3):
        context = speaking_browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(20_000)
        pages.append(context.new_page())
    mediator, applicant, clerk = pages
    join(mediator, hearing.links["mediator"], "mediator")
    wait_location(mediator, "main")
    join(applicant, hearing.links["applicant"], "applicant")
    m_id, a_id = me(mediator), me(applicant)
    if mediator.locator("#side").is_hidden():
        mediator.click("#ctl-people")
    mediator.click("#admit-all")
    wait_location(applicant, "main")
    wait_decoding(mediator, a_id)
    wait_decoding(applicant, m_id)

    # Record until both microphones have a second 10 s segment under way (the sentence
    # repeats, so each track holds it more than once), then stop.
    mediator.click("#ctl-rec-start")
    expect(applicant.locator("#rec-flag")).to_have_attribute("data-status", "recording")
    deadline = 60_000
    session_id, covered = 0, 0
    while covered < 10_000:
        assert deadline > 0, "recording did not reach 10 s"
        mediator.wait_for_timeout(500)
        deadline -= 500
        session_id, covered = _audio_written(live_server, hearing.hearing_id)
    mediator.wait_for_timeout(2_000)
    mediator.click("#ctl-rec-stop")
    mediator.locator('#dialog button[value="yes"]').click()
    expect(applicant.locator("#rec-flag")).to_have_attribute("data-status", "stopped")

    # The court clerk runs the draft transcription; the page follows the job and shows lines.
    login_and_open(clerk, live_server, session_id)
    clerk.goto(f"{live_server.url}/recordings/{session_id}/transcript")
    clerk.click(".transcribe-form button[type=submit]")
    expect(clerk.locator(".transcript-line").first).to_be_visible(timeout=120_000)
    lines = clerk.locator(".transcript-line")
    speakers = {
        lines.nth(i).locator(".transcript-meta strong").inner_text() for i in range(lines.count())
    }
    assert len(speakers) == 2, speakers  # each line from its own speaker's track
    text = " ".join(
        lines.nth(i).locator("textarea").input_value().lower() for i in range(lines.count())
    )
    assert len(WORDS & set(text.split())) >= 3, text
    assert clerk.locator(".transcript-line.machine_draft").count() == lines.count()

    # Beside the review player: marked as drafts; a click seeks to the line.
    clerk.goto(f"{live_server.url}/recordings/{session_id}")
    wait_for(clerk, "() => window.bilinReview !== undefined")
    panel = clerk.locator("#rv-transcript .line")
    expect(panel.first).to_be_visible(timeout=15_000)
    assert "机器草稿" in panel.first.inner_text()
    last = panel.nth(panel.count() - 1)
    last.locator(".line-text").click()
    wait_for(clerk, "() => window.bilinReview.state().masterMs > 1000")
    for page in pages:
        page.context.close()
