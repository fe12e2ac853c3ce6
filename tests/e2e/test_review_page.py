"""The review page in Chromium: a fabricated three-party session (real VP8 and Opus segment
files) plays on one master clock; every tile follows play, seeks by keyboard and by a
transcript line; a late joiner's tile shows a placeholder until their media starts; a bookmark
survives a reload."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import RecordingEventKind, TranscriptStatus
from server.db.engine import create_engine, create_sessionmaker
from server.db.recording import RecordingEvent, RecordingTrack
from server.db.transcript import Transcript, TranscriptLine
from tests.e2e.conftest import LiveServer, People
from tests.recording.fabricate import RecordedSession, make_recorded_session
from tests.world import PASSWORD

TOLERANCE_MS = 150
LATE_SEAT = 2
LATE_S = 12.0


def fabricate(server: LiveServer) -> RecordedSession:
    """A 30 s session: three people, the third joining at 12 s; a transcript line each."""

    async def run() -> RecordedSession:
        engine = create_engine(server.settings)
        try:
            async with create_sessionmaker(engine)() as db:
                recorded = await make_recorded_session(
                    db,
                    server.world,
                    server.settings.data_dir / "recordings",
                    parties=3,
                    seconds=30,
                    segment_seconds=10,
                    late_join={LATE_SEAT: LATE_S},
                    width=160,
                    height=120,
                    fps=10,
                )
                await add_transcript(db, recorded)
                db.add(
                    RecordingEvent(
                        session_id=recorded.session_id,
                        kind=RecordingEventKind.GAP,
                        offset_ms=25_000,
                        detail='{"from_ms": 25000, "to_ms": 26000}',
                    )
                )
                await db.commit()
                return recorded
        finally:
            await engine.dispose()

    return server.call(run())


async def add_transcript(db: AsyncSession, recorded: RecordedSession) -> None:
    for number, seat in enumerate(recorded.seats):
        track = await db.get(RecordingTrack, recorded.tracks[(seat.id, "main", "microphone")])
        assert track is not None
        transcript = Transcript(
            session_id=recorded.session_id,
            track_id=track.id,
            participant_id=seat.id,
            engine="vosk",
            language="zh-CN",
        )
        db.add(transcript)
        await db.flush()
        start = 14_000 + number * 4_000
        db.add(
            TranscriptLine(
                transcript_id=transcript.id,
                session_id=recorded.session_id,
                participant_id=seat.id,
                start_ms=start,
                end_ms=start + 3_000,
                text=f"第{number + 1}句话",
                status=TranscriptStatus.MACHINE_DRAFT,
            )
        )


def state(page: Page) -> dict[str, Any]:
    return page.evaluate("() => window.bilinReview.state()")  # type: ignore[no-any-return]


def wait_for(page: Page, condition: str, timeout_s: float = 15) -> None:
    page.wait_for_function(condition, timeout=timeout_s * 1000)


def in_sync(page: Page) -> list[tuple[int, float]]:
    """Tiles playing media at the playhead, each ``(track, ms off the master clock)``."""
    now = state(page)
    return [
        (tile["track"], tile["currentTime"] * 1000 - now["masterMs"])
        for tile in now["tiles"]
        if tile["state"] == "playing"
    ]


def assert_following(page: Page, seconds: float = 2.0) -> None:
    """Over ``seconds`` of playback, every playing tile stays within the tolerance."""
    deadline = time.monotonic() + seconds
    samples = 0
    while time.monotonic() < deadline:
        offsets = in_sync(page)
        assert offsets, "no tile is playing"
        worst = max(abs(off) for _, off in offsets)
        assert worst < TOLERANCE_MS, offsets
        samples += 1
        page.wait_for_timeout(200)
    assert samples >= 5


SYNCED = f"""() => {{
  const s = window.bilinReview && window.bilinReview.state();
  if (!s || !s.playing) return false;
  const live = s.tiles.filter((t) => t.state === "playing");
  return live.length > 0 && live.every(
    (t) => !t.paused && Math.abs(t.currentTime * 1000 - s.masterMs) < {TOLERANCE_MS});
}}"""


def login_and_open(page: Page, server: LiveServer, session_id: int) -> None:
    page.goto(f"{server.url}/login?next=/recordings/{session_id}")
    page.fill("#username", "lz_court_clerk")
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**/recordings/{session_id}")
    wait_for(page, "() => window.bilinReview !== undefined")


def test_review_page_plays_every_track_on_one_clock(
    live_server: LiveServer, people: People
) -> None:
    recorded = fabricate(live_server)
    page = people.person()
    login_and_open(page, live_server, recorded.session_id)
    tiles = page.locator(".tile")
    assert tiles.count() == 3  # three cameras; microphones play as audio elements
    assert page.locator(".audio-track").count() == 3
    late_camera = recorded.tracks[(recorded.seats[LATE_SEAT].id, "main", "camera")]
    late_tile = page.locator(f'.tile[data-track="{late_camera}"]')
    # The gap is drawn on the seek bar, the events are listed.
    assert page.locator("#rv-marks .mark-gap").count() == 1
    assert page.locator("#rv-events li").count() >= 4

    # Play: every tile's time advances with the master clock.
    page.click("#rv-play")
    wait_for(page, SYNCED)
    first = state(page)
    wait_for(page, f"() => window.bilinReview.state().masterMs > {first['masterMs'] + 1500}")
    later = state(page)
    for before, after in zip(first["tiles"], later["tiles"], strict=True):
        if before["state"] == "playing":
            assert after["currentTime"] > before["currentTime"] + 1.0
    assert_following(page)
    # The late joiner has no media yet: a placeholder, not a frozen picture.
    assert late_tile.locator(".tile-placeholder").is_visible()
    assert "此时无画面" in late_tile.inner_text()

    # Keyboard: → twice moves 10 s; every tile follows (the late joiner's media starts).
    page.locator("body").click(position={"x": 5, "y": 5})
    before = state(page)["masterMs"]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert state(page)["masterMs"] >= before + 9_500
    wait_for(page, SYNCED)
    wait_for(page, f"() => window.bilinReview.state().masterMs > {LATE_S * 1000 + 500}")
    wait_for(page, SYNCED)
    assert not late_tile.locator(".tile-placeholder").is_visible()
    assert_following(page, 1.5)

    # A transcript line seeks there, and is the current line while it plays.
    line = page.locator("#rv-transcript .line").nth(2)
    assert "机器草稿" in line.inner_text()
    line.locator(".line-text").click()
    now = state(page)["masterMs"]
    assert 22_000 <= now < 23_500, now
    wait_for(page, SYNCED)
    wait_for(page, "() => document.querySelector('#rv-transcript .line[aria-current=\"true\"]')")
    assert line.get_attribute("aria-current") == "true"

    # Space pauses: the master clock and every tile stop.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press(" ")
    stopped = state(page)["masterMs"]
    page.wait_for_timeout(500)
    assert state(page)["masterMs"] == stopped
    assert all(t["paused"] for t in state(page)["tiles"])

    # A bookmark at the current time persists after a reload.
    page.fill("#rv-bookmark-note", "申请人确认同意")
    page.click("#rv-bookmark-form button[type=submit]")
    page.wait_for_selector("#rv-bookmarks li")
    page.reload()
    wait_for(page, "() => window.bilinReview !== undefined")
    mark = page.locator("#rv-bookmarks li")
    assert mark.count() == 1
    assert "申请人确认同意" in mark.inner_text()
    mark.locator(".time-link").click()
    assert abs(state(page)["masterMs"] - stopped) < 1_000


def test_a_caucus_recording_reaches_the_court_only_after_a_confirmed_release(
    live_server: LiveServer, people: People
) -> None:
    async def run() -> RecordedSession:
        engine = create_engine(live_server.settings)
        try:
            async with create_sessionmaker(engine)() as db:
                recorded = await make_recorded_session(
                    db,
                    live_server.world,
                    live_server.settings.data_dir / "recordings",
                    parties=2,
                    seconds=4,
                    segment_seconds=2,
                    caucus_seconds=2,
                    width=160,
                    height=120,
                    fps=10,
                )
                await db.commit()
                return recorded
        finally:
            await engine.dispose()

    recorded = live_server.call(run())
    clerk = people.person()
    login_and_open(clerk, live_server, recorded.session_id)
    assert clerk.locator(".review-room").count() == 1
    assert clerk.locator(".sealed-room").is_visible()
    assert clerk.locator("#rv-release-form").count() == 0

    mediator = people.person()
    mediator.goto(f"{live_server.url}/login?next=/recordings/{recorded.session_id}")
    mediator.fill("#username", "lz_mediator")
    mediator.fill("#password", PASSWORD)
    mediator.click("form.stack button[type=submit]")
    wait_for(mediator, "() => window.bilinReview !== undefined")
    assert mediator.locator(".review-room").count() == 2  # main and the caucus room
    mediator.fill("#rv-release-reason", "司法确认需要核实背对背内容")
    mediator.click("#rv-release-form button[type=submit]")
    # Nothing is released before the explicit confirmation.
    confirm = mediator.locator("#rv-release-confirm")
    assert confirm.is_visible()
    mediator.click("#rv-release-no")
    assert not confirm.is_visible()
    clerk.reload()
    assert clerk.locator(".sealed-room").is_visible()
    mediator.click("#rv-release-form button[type=submit]")
    mediator.click("#rv-release-yes")
    mediator.wait_for_selector("#rv-release-none:not([hidden])")
    assert "已释放给法院" in mediator.locator("#review-status").inner_text()

    clerk.reload()
    wait_for(clerk, "() => window.bilinReview !== undefined")
    assert clerk.locator(".review-room").count() == 2
    assert clerk.locator(".sealed-room").count() == 0
