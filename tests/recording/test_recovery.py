"""Crash recovery with a real server process: ``bilin serve`` records a hearing of synthetic
aiortc participants, is killed with SIGKILL, and started again.

After the restart the session is INTERRUPTED, the segment that was open is hashed as found and
plays (decoded with PyAV) up to about two seconds before the kill, the chain still verifies,
and the timeline shows the gap from the last written millisecond to the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import av
import pytest
from sqlalchemy import select

from recording.chain import GENESIS, ChainEntry, link
from recording.recovery import left_by_us
from recording.storage import LocalStore
from recording.vocabulary import RecordingEventKind, RecordingStatus, SegmentStatus
from server.db.engine import create_engine, create_sessionmaker
from server.db.migrate import upgrade
from server.db.recording import RecordingEvent, RecordingSegment, RecordingSession
from server.hearings.consent import RECORDING_NOTICE_VERSION
from server.settings import Settings
from signaling.media.synthetic import EncodedClip, encode_audio, encode_video
from tests.server.test_hearings_support import open_link, routed_case, schedule
from tests.signaling.test_live_support import Live, cookie_header
from tests.world import World, build_world

BILIN = Path(sys.executable).with_name("bilin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def clips() -> tuple[EncodedClip, EncodedClip]:
    video = encode_video(320, 180, fps=15, seconds=2, bitrate=250_000, keyframe_interval=15)
    return video, encode_audio(seconds=2)


@contextlib.asynccontextmanager
async def bilin_serve(settings: Settings) -> AsyncIterator[asyncio.subprocess.Process]:
    """``bilin serve`` on the settings' port and data directory, until it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILIN_")}
    env.update(
        BILIN_ENV="test",
        BILIN_DATA_DIR=str(settings.data_dir),
        BILIN_PORT=str(settings.port),
        BILIN_RECORDING_SEGMENT_SECONDS="3",
    )
    log = (settings.data_dir / "server.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        str(BILIN), "serve", stdout=log, stderr=log, env=env
    )
    try:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                assert process.returncode is None, "the server exited"
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{settings.base_url}/login") as response:
                        if response.status == 200:
                            break
                assert time.monotonic() < deadline, "the server did not answer"
                await asyncio.sleep(0.2)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def person(url: str, link: str) -> tuple[aiohttp.ClientSession, str]:
    """A browser that opened its invitation link, and its CSRF token."""
    http = aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    return http, await open_link(http, link)


def decodable_until_ms(path: Path) -> int:
    """Session ms of the last frame PyAV decodes from a (possibly cut-off) file."""
    last = -1
    with (
        contextlib.suppress(av.error.InvalidDataError, av.error.EOFError),
        av.open(str(path)) as container,
    ):
        for frame in container.decode(container.streams[0]):
            if frame.pts is not None and frame.time_base is not None:
                last = max(last, int(frame.pts * frame.time_base * 1000))
    return last


def test_worker_ids_recovered_by_this_process() -> None:
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert left_by_us("w1", "w1")  # a configured id: the previous run of the same worker
    assert not left_by_us("w2", "w1")
    assert left_by_us(f"{socket.gethostname()}:999999", me)  # no such process any more
    assert not left_by_us(f"elsewhere:{os.getpid()}", me)


async def test_sigkill_mid_recording_leaves_playable_files_and_a_gap(
    tmp_path: Path, clips: tuple[EncodedClip, EncodedClip]
) -> None:
    video, audio = clips
    settings = Settings(environment="test", data_dir=tmp_path, port=_free_port())
    upgrade(settings)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db:
        world: World = await build_world(db)
        await db.commit()

    lives: list[Live] = []
    browsers: list[aiohttp.ClientSession] = []
    try:
        async with bilin_serve(settings) as server:
            async with aiohttp.ClientSession(
                base_url=settings.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as staff:
                case = await routed_case(staff, world)  # type: ignore[arg-type]
                scheduled = await schedule(staff, case, world)  # type: ignore[arg-type]
            applicant_browser, csrf = await person(settings.base_url, scheduled.links["applicant"])
            mediator_browser, _ = await person(settings.base_url, scheduled.links["mediator"])
            browsers += [applicant_browser, mediator_browser]
            answered = await applicant_browser.post(
                "/api/join/consent",
                json={"notice_version": RECORDING_NOTICE_VERSION, "given": True},
                headers={"X-CSRF-Token": csrf},
            )
            assert answered.status in (200, 201), await answered.text()

            mediator, applicant = Live("mediator"), Live("applicant")
            lives += [mediator, applicant]
            await mediator.connect(
                settings.base_url + "/", cookie_header(mediator_browser.cookie_jar)
            )
            await applicant.connect(
                settings.base_url + "/", cookie_header(applicant_browser.cookie_jar)
            )
            for live in (mediator, applicant):
                assert (await live.call("hello", {}))["ok"]
                await live.start_media(video, audio)
            ack = await mediator.call("admit", {"participant_id": scheduled.seats["applicant"]})
            assert ack["ok"], ack
            await mediator.wait_packets(
                lambda: mediator.packets_from(scheduled.seats["applicant"]) > 30
            )
            ack = await mediator.call("recording_start", {})
            assert ack["ok"], ack

            # Record for a while: at least one closed segment per track and one open.
            async def closed_segments() -> int:
                async with sessionmaker() as db:
                    found = await db.scalars(
                        select(RecordingSegment.id).where(
                            RecordingSegment.status == SegmentStatus.CLOSED
                        )
                    )
                    return len(found.all())

            deadline = time.monotonic() + 30
            while await closed_segments() < 4:
                assert time.monotonic() < deadline, "no closed segments"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # well into the next segments
            async with sessionmaker() as db:
                session = await db.scalar(select(RecordingSession))
                assert session is not None and session.status == RecordingStatus.RECORDING
            killed_ms = int((time.time() - session.started_at.timestamp()) * 1000)
            server.send_signal(signal.SIGKILL)
            await server.wait()
        for live in lives:
            await live.close()
        lives.clear()

        # The next start recovers what the killed process left open.
        async with bilin_serve(settings), sessionmaker() as db:
            session = await db.get(RecordingSession, session.id)
            assert session is not None
            assert session.status == RecordingStatus.INTERRUPTED
            assert session.ended_at is not None
            segments = list(
                (
                    await db.scalars(
                        select(RecordingSegment).where(RecordingSegment.session_id == session.id)
                    )
                ).all()
            )
            events = list(
                (
                    await db.scalars(
                        select(RecordingEvent).where(RecordingEvent.session_id == session.id)
                    )
                ).all()
            )
    finally:
        for live in lives:
            await live.close()
        for http in browsers:
            await http.close()
        await engine.dispose()

    statuses = {s.status for s in segments}
    assert SegmentStatus.OPEN not in statuses
    assert SegmentStatus.RECOVERED in statuses, statuses
    # Every segment's bytes are what the chain says, in order.
    spool = LocalStore(tmp_path / "recordings")
    head = GENESIS
    for index, segment in enumerate(sorted(segments, key=lambda s: s.chain_index)):
        assert segment.chain_index == index
        if segment.status != SegmentStatus.MISSING:
            assert await spool.sha256(segment.storage_key) == segment.sha256
        head = link(
            head,
            ChainEntry(
                session.id,
                index,
                segment.track_id,
                segment.index,
                segment.start_ms,
                segment.end_ms if segment.end_ms is not None else segment.start_ms,
                segment.sha256 or "",
            ),
        )
        assert segment.chain_hash == head
    assert session.chain_head == head

    # The recovered files play up to ~2 s before the kill.
    recovered = [s for s in segments if s.status == SegmentStatus.RECOVERED]
    for segment in recovered:
        last = decodable_until_ms(spool.path(segment.storage_key))
        assert last >= killed_ms - 2000, (segment.storage_key, last, killed_ms)
        assert segment.end_ms is not None and segment.end_ms >= last
    # Closed segments before the kill are intact.
    for segment in segments:
        if segment.status == SegmentStatus.CLOSED:
            assert decodable_until_ms(spool.path(segment.storage_key)) >= segment.start_ms

    gaps = [json.loads(e.detail) for e in events if e.kind == RecordingEventKind.GAP]
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap["reason"] == "process_ended"
    assert killed_ms - 2000 <= gap["from_ms"] <= killed_ms + 500
    assert gap["to_ms"] > killed_ms
