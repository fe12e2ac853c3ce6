"""The transcript API and page: lines only within the caller's scope, a sealed caucus room's
lines left out until it is released, accepting and correcting lines, running the job."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import TranscriptStatus
from server.appkeys import JOBS, SESSIONMAKER
from server.db.recording import CaucusRelease
from server.db.transcript import Transcript, TranscriptLine
from server.settings import Settings
from tests.recording.fabricate import RecordedSession, make_recorded_session
from tests.server.test_workflow import act_as, call
from tests.world import World


@pytest.fixture
async def recorded(db: AsyncSession, world: World, settings: Settings) -> RecordedSession:
    made = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=2,
        seconds=2,
        caucus_seconds=1,
        width=64,
        height=48,
        fps=5,
    )
    mediator, applicant = made.seats[0], made.seats[1]
    # Lines as a run would have left them: two in the main room, one in the caucus room.
    for seat, room, start_ms, text in (
        (mediator, "main", 100, "please tell me what happened"),
        (applicant, "main", 900, "the ceiling leaks"),
        (applicant, "caucus-1", 2100, "I could pay half"),
    ):
        track_id = made.tracks[(seat.id, room, "microphone")]
        transcript = Transcript(
            session_id=made.session_id,
            track_id=track_id,
            participant_id=seat.id,
            engine="pocketsphinx",
            language="en-US",
        )
        db.add(transcript)
        await db.flush()
        db.add(
            TranscriptLine(
                transcript_id=transcript.id,
                session_id=made.session_id,
                participant_id=seat.id,
                start_ms=start_ms,
                end_ms=start_ms + 700,
                text=text,
                status=TranscriptStatus.MACHINE_DRAFT,
            )
        )
    await db.commit()
    return made


def url(made: RecordedSession) -> str:
    return f"/api/recording-sessions/{made.session_id}/transcript"


async def test_lines_come_with_their_speaker_within_scope_and_caucus_sealed(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    recorded: RecordedSession,
    db: AsyncSession,
) -> None:
    await act_as(client, "lz_mediator")
    status, body = await call(client, "GET", url(recorded))
    assert status == 200
    assert [
        (line["speaker"], line["role"], line["text"], line["status"]) for line in body["lines"]
    ] == [
        ("王调解员", "mediator", "please tell me what happened", "machine_draft"),
        ("张三", "applicant", "the ceiling leaks", "machine_draft"),
        ("张三", "applicant", "I could pay half", "machine_draft"),
    ]
    assert body["lines"][0]["participant_id"] == recorded.seats[0].id
    assert body["lines"][1]["start_ms"] == 900 and body["lines"][1]["end_ms"] == 1600
    caucus_line = body["lines"][2]["id"]

    # The court sees the main room only, and the sealed line answers like a missing one.
    csrf = await act_as(client, "lz_court_clerk")
    status, body = await call(client, "GET", url(recorded))
    assert status == 200 and [line["text"] for line in body["lines"]] == [
        "please tell me what happened",
        "the ceiling leaks",
    ]
    sealed = await call(client, "POST", f"/api/transcript-lines/{caucus_line}/accept", csrf, {})
    missing = await call(client, "POST", "/api/transcript-lines/999999/accept", csrf, {})
    assert sealed == missing and sealed[0] == 404

    # Released to the court: now it is there.
    db.add(
        CaucusRelease(
            session_id=recorded.session_id,
            sub_room="caucus-1",
            released_by_id=world.staff["lz_super"].id,
            reason="both parties agreed",
        )
    )
    await db.commit()
    status, body = await call(client, "GET", url(recorded))
    assert len(body["lines"]) == 3

    # Another county: the session does not exist for them.
    csrf = await act_as(client, "mq_clerk")
    assert (await call(client, "GET", url(recorded)))[0] == 404
    assert (await call(client, "GET", "/api/recording-sessions/999999/transcript"))[0] == 404
    line_id = body["lines"][0]["id"]
    assert (await call(client, "POST", f"/api/transcript-lines/{line_id}/accept", csrf, {}))[
        0
    ] == 404


async def test_a_person_accepts_or_corrects_a_line(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    recorded: RecordedSession,
    db: AsyncSession,
) -> None:
    csrf = await act_as(client, "lz_mediator")
    lines = (await call(client, "GET", url(recorded)))[1]["lines"]
    first, second = lines[0]["id"], lines[1]["id"]

    status, line = await call(client, "POST", f"/api/transcript-lines/{first}/accept", csrf, {})
    assert status == 200
    assert (line["status"], line["text"]) == ("accepted", "please tell me what happened")
    status, line = await call(
        client,
        "POST",
        f"/api/transcript-lines/{second}/accept",
        csrf,
        {"text": "  The ceiling leaks every night.  "},
    )
    assert status == 200
    assert (line["status"], line["text"]) == ("accepted", "The ceiling leaks every night.")
    row = await db.get(TranscriptLine, second)
    assert row is not None
    await db.refresh(row)
    assert row.accepted_by_id == world.staff["lz_mediator"].id and row.accepted_at is not None

    # Bad input changes nothing.
    for bad in ({"text": "   "}, {"text": "x" * 4001}, {"text": "a", "status": "x"}):
        status, _ = await call(client, "POST", f"/api/transcript-lines/{second}/accept", csrf, bad)
        assert status == 422
    assert (await call(client, "GET", url(recorded)))[1]["lines"][1]["text"] == (
        "The ceiling leaks every night."
    )
    # A judge reads but does not edit.
    csrf = await act_as(client, "lz_judge")
    assert (await call(client, "GET", url(recorded)))[0] == 200
    status, _ = await call(client, "POST", f"/api/transcript-lines/{first}/accept", csrf, {})
    assert status == 403


async def test_starting_the_job_runs_it_once_and_keeps_accepted_lines(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    recorded: RecordedSession,
) -> None:
    start = f"/api/recording-sessions/{recorded.session_id}/transcript/jobs"
    csrf = await act_as(client, "lz_judge")
    assert (await call(client, "POST", start, csrf))[0] == 403
    csrf = await act_as(client, "mq_clerk")
    assert (await call(client, "POST", start, csrf))[0] == 404

    csrf = await act_as(client, "lz_mediator")
    lines = (await call(client, "GET", url(recorded)))[1]["lines"]
    await call(client, "POST", f"/api/transcript-lines/{lines[1]['id']}/accept", csrf, {})
    # With the runner held, a second click follows the queued job instead of adding one.
    runner = client.app[JOBS]
    await runner.stop()
    status, job = await call(client, "POST", start, csrf)
    assert status == 202 and job["kind"] == "transcribe_session" and not job["finished"]
    assert (await call(client, "POST", start, csrf))[1]["id"] == job["id"]
    assert (await call(client, "GET", url(recorded)))[1]["job"]["id"] == job["id"]
    runner.start(client.app[SESSIONMAKER])
    deadline = time.monotonic() + 120
    while not job["finished"]:
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)
        job = (await call(client, "GET", f"/api/jobs/{job['id']}"))[1]
    assert job["status"] == "done", job
    assert job["result"]["tracks"] == 4  # two microphones in the main room, two in caucus
    body = (await call(client, "GET", url(recorded)))[1]
    assert body["job"] is None
    # The fabricated drafts are gone (the tones gave other drafts or none); the accepted
    # line stays as it was.
    texts = [(line["text"], line["status"]) for line in body["lines"]]
    assert ("the ceiling leaks", "accepted") in texts
    assert ("please tell me what happened", "machine_draft") not in texts


async def test_the_transcript_page_runs_and_accepts(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    recorded: RecordedSession,
) -> None:
    csrf = await act_as(client, "lz_mediator")
    page = f"/recordings/{recorded.session_id}/transcript"
    response = await client.get(page, headers={"Accept-Language": "en"})
    html = await response.text()
    assert response.status == 200
    assert "please tell me what happened" in html and "Machine draft" in html
    lines = (await call(client, "GET", url(recorded)))[1]["lines"]
    response = await client.post(
        f"/transcript-lines/{lines[0]['id']}/accept",
        data={"_csrf": csrf, "text": "Please tell me what happened."},
        allow_redirects=False,
    )
    assert response.status == 303
    body = (await call(client, "GET", url(recorded)))[1]
    assert (body["lines"][0]["text"], body["lines"][0]["status"]) == (
        "Please tell me what happened.",
        "accepted",
    )
    # Out of scope: the page does not exist.
    await act_as(client, "mq_clerk")
    assert (await client.get(page)).status == 404
