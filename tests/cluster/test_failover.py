"""Losing a worker: two people in a hearing (in a caucus room, being recorded) are on one
worker; it is killed with SIGKILL; both come back on another worker within 30 s, in the same
caucus room, with media flowing, and the recording goes on with the gap marked."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from recording.vocabulary import RecordingEventKind, RecordingStatus
from server.db.recording import RecordingEvent, RecordingSegment, RecordingSession
from server.db.signing import RecordingManifest
from tests.cluster.conftest import Cluster
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.helpers import join, me, wait_decoding, wait_location

T = TypeVar("T")
RECOVERY_LIMIT_S = 30.0


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


def _query(cluster: Cluster, hearing_id: int) -> dict[str, Any]:
    """The hearing's recording sessions, their segments, timelines and manifests."""

    async def run() -> dict[str, Any]:
        engine = create_async_engine(cluster.env["BILIN_DATABASE_URL"])
        try:
            async with AsyncSession(engine) as db:
                sessions = list(
                    await db.scalars(
                        select(RecordingSession).where(RecordingSession.hearing_id == hearing_id)
                    )
                )
                ids = [s.id for s in sessions]
                segments = list(
                    await db.scalars(
                        select(RecordingSegment).where(RecordingSegment.session_id.in_(ids))
                    )
                )
                events = list(
                    await db.scalars(
                        select(RecordingEvent).where(RecordingEvent.session_id.in_(ids))
                    )
                )
                manifests = list(
                    await db.scalars(
                        select(RecordingManifest).where(RecordingManifest.session_id.in_(ids))
                    )
                )
        finally:
            await engine.dispose()
        return {
            "sessions": sessions,
            "segments": segments,
            "events": events,
            "manifests": manifests,
        }

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _until(condition: Any, page: Page, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        page.wait_for_timeout(250)


def _socket_path(page: Page) -> str:
    return str(page.evaluate("window.bilinLive.socketPath()"))


def _hearing_id(page: Page) -> int:
    page.wait_for_function("() => window.bilinLive && window.bilinLive.me() !== null")
    return int(page.evaluate("window.bilinLive.me().hearing_id"))


def test_a_killed_workers_hearing_comes_back_elsewhere_as_it_was(
    cluster: Cluster, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    links = cluster.demo_session()["links"]
    pages = []
    for _ in range(2):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(20_000)
        pages.append(context.new_page())
    mediator, applicant = pages
    join(mediator, links["mediator"], "mediator")
    wait_location(mediator, "main")
    join(applicant, links["applicant"], "applicant")
    m_id, a_id = me(mediator), me(applicant)
    hearing_id = _hearing_id(mediator)
    if mediator.locator("#side").is_hidden():
        mediator.click("#ctl-people")
    mediator.click("#admit-all")
    wait_location(applicant, "main")

    # Both on the same worker, through the balancer's path for it.
    path = _socket_path(mediator)
    assert path.startswith("/w/") and _socket_path(applicant) == path
    worker = path.split("/")[2]

    # A caucus room with both of them in it, recorded.
    mediator.fill("#caucus-label", "背对背")
    mediator.click("#caucus-form button")
    room = mediator.locator("#room-list .room-item").nth(1)
    caucus = room.get_attribute("data-room")
    assert caucus
    mediator.click(f'#people-list [data-participant-id="{a_id}"] summary')
    mediator.select_option(f'#people-list [data-participant-id="{a_id}"] select', caucus)
    mediator.click(f'#people-list [data-participant-id="{a_id}"] .menu-move button')
    wait_location(applicant, caucus)
    # The room list is redrawn with every state push; click without waiting for it to settle.
    mediator.locator(f'button[data-key="go-{caucus}"]').dispatch_event("click")
    wait_location(mediator, caucus)
    wait_decoding(applicant, m_id)
    wait_decoding(mediator, a_id)
    mediator.click("#ctl-rec-start")
    expect(applicant.locator("#rec-flag")).to_have_attribute("data-status", "recording")
    _until(
        lambda: len({s.track_id for s in _query(cluster, hearing_id)["segments"]}) == 4,
        mediator,
    )

    killed_at = time.monotonic()
    cluster.kill(worker)
    # Both reconnect on their own to another worker, in the same caucus room, media flowing.
    for page in (mediator, applicant):
        page.wait_for_function(
            "old => window.bilinLive.socketPath() !== old", arg=path, timeout=35_000
        )
    new_path = _socket_path(mediator)
    assert _socket_path(applicant) == new_path and new_path != path
    wait_location(mediator, caucus, timeout=35_000)
    wait_location(applicant, caucus, timeout=35_000)
    wait_decoding(applicant, m_id, timeout=35_000)
    wait_decoding(mediator, a_id, timeout=35_000)
    recovered_s = time.monotonic() - killed_at
    assert recovered_s < RECOVERY_LIMIT_S
    expect(applicant.locator("#rec-flag")).to_have_attribute(
        "data-status", "recording", timeout=15_000
    )

    # The recording went on in a new session; the lost one ends with a gap.
    def resumed() -> bool:
        sessions = _query(cluster, hearing_id)["sessions"]
        return len(sessions) == 2 and any(s.status == RecordingStatus.RECORDING for s in sessions)

    _until(resumed, mediator)
    found = _query(cluster, hearing_id)
    sessions = sorted(found["sessions"], key=lambda s: s.id)
    lost, current = sessions
    assert lost.status == RecordingStatus.INTERRUPTED and lost.worker == worker
    assert current.worker == new_path.split("/")[2]
    events = found["events"]
    gaps = [e for e in events if e.session_id == lost.id and e.kind == RecordingEventKind.GAP]
    assert len(gaps) == 1
    resumes = [
        json.loads(e.detail)
        for e in events
        if e.session_id == current.id and e.kind == RecordingEventKind.RESUME
    ]
    assert resumes == [{"continues_session": lost.id, "reason": "worker_lost"}]
    # The lost session is sealed with the gap in its signed manifest.
    manifest = max(
        (m for m in found["manifests"] if m.session_id == lost.id), key=lambda m: m.version
    )
    assert json.loads(manifest.body)["gaps"]
    with capsys.disabled():
        print(f"\n[cluster figures] worker killed → both back with media: {recovered_s:.1f} s")
    for page in pages:
        page.context.close()
