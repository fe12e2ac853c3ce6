"""The review API, the media endpoint and caucus releases, on both databases: scope answered
like a missing recording, sealed caucus rooms until released, traversal attempts, HTTP Range,
bookmarks, the transcript, and the audit entries every playback, download and release leaves."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.vocabulary import TranscriptStatus
from server.audit.log import verify_audit_chain
from server.db.audit import AuditEntry
from server.db.recording import RecordingSegment, RecordingTrack
from server.db.transcript import Transcript, TranscriptLine
from server.settings import Settings
from tests.recording import fabricate
from tests.recording.fabricate import RecordedSession, make_recorded_session
from tests.world import World, login

VIEW = "0123456789abcdef0123456789abcdef"
JSON = {"Accept": "application/json"}


@dataclass
class Fixture:
    recorded: RecordedSession
    main_video: RecordingSegment
    main_audio: RecordingSegment
    caucus_video: RecordingSegment
    data: bytes


@pytest.fixture(scope="session")
def packet_cache() -> dict[tuple[object, ...], object]:
    """Encoded packets by their inputs, shared by every test of the session."""
    return {}


@pytest.fixture(autouse=True)
def reuse_encoded_packets(
    monkeypatch: pytest.MonkeyPatch, packet_cache: dict[tuple[object, ...], object]
) -> None:
    """The fabricated sessions of these tests are all alike: encode their VP8 and Opus
    packets once (the files and rows are still written for each test)."""
    video, audio = fabricate._video_packets, fabricate._audio_packets

    def cached_video(*args: Any) -> Any:
        key = ("video", *args)
        if key not in packet_cache:
            packet_cache[key] = video(*args)
        return packet_cache[key]

    def cached_audio(pcm: Any) -> Any:
        key = ("audio", hashlib.sha256(pcm.tobytes()).hexdigest())
        if key not in packet_cache:
            packet_cache[key] = audio(pcm)
        return packet_cache[key]

    monkeypatch.setattr(fabricate, "_video_packets", cached_video)
    monkeypatch.setattr(fabricate, "_audio_packets", cached_audio)


@pytest.fixture
async def rec(db: AsyncSession, world: World, settings: Settings) -> Fixture:
    recorded = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=2,
        seconds=4,
        segment_seconds=2,
        caucus_seconds=2,
        width=160,
        height=120,
        fps=10,
    )
    await db.commit()

    async def first(sub_room: str, kind: str) -> RecordingSegment:
        segment = await db.scalar(
            select(RecordingSegment)
            .join(RecordingTrack, RecordingTrack.id == RecordingSegment.track_id)
            .where(
                RecordingSegment.session_id == recorded.session_id,
                RecordingTrack.sub_room == sub_room,
                RecordingTrack.kind == kind,
            )
            .order_by(RecordingSegment.id)
            .limit(1)
        )
        assert segment is not None
        return segment

    main_video = await first("main", "video")
    data = recorded.store.path(main_video.storage_key).read_bytes()
    return Fixture(
        recorded, main_video, await first("main", "audio"), await first("caucus-1", "video"), data
    )


def media(rec: Fixture, segment: RecordingSegment, view: str = VIEW) -> str:
    return f"/recordings/{rec.recorded.session_id}/segments/{segment.id}?v={view}"


async def audit_rows(db: AsyncSession, action: str) -> list[AuditEntry]:
    rows = await db.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    )
    return list(rows.all())


# ---------------------------------------------------------------- scope


async def test_out_of_scope_is_answered_like_missing(client: TestClient, rec: Fixture) -> None:
    sid = rec.recorded.session_id
    await login(client, "mq_clerk")  # another county
    for path in (f"/api/recordings/{sid}", f"/api/recordings/{sid}/segments?from_ms=0&to_ms=1"):
        hidden = await client.get(path)
        missing = await client.get(path.replace(f"/{sid}", "/999999"))
        assert hidden.status == missing.status == 404
        assert await hidden.json() == await missing.json()
    # The error page names the address asked for; the JSON error is the same for both.
    hidden = await client.get(media(rec, rec.main_video), headers=JSON)
    missing = await client.get(f"/recordings/999999/segments/{rec.main_video.id}", headers=JSON)
    assert hidden.status == missing.status == 404
    assert await hidden.json() == await missing.json()
    assert (await client.get(f"/recordings/{sid}")).status == 404
    assert (await client.get(f"/cases/{rec.recorded.case_id}/recordings")).status == 404


async def test_the_court_sees_the_main_room_and_a_sealed_caucus(
    client: TestClient, rec: Fixture
) -> None:
    await login(client, "lz_court_clerk")
    body = await (await client.get(f"/api/recordings/{rec.recorded.session_id}")).json()
    assert body["rooms"] == ["main"]
    assert body["sealed_rooms"] == ["caucus-1"]
    assert body["releasable_rooms"] == []
    assert {t["sub_room"] for t in body["tracks"]} == {"main"}
    assert {t["mime"] for t in body["tracks"]} == {
        'video/webm; codecs="vp8"',
        'audio/webm; codecs="opus"',
    }
    assert all(e["sub_room"] in (None, "main") for e in body["events"])
    assert body["duration_ms"] >= 5_900
    window = await (
        await client.get(f"/api/recordings/{rec.recorded.session_id}/segments?from_ms=0&to_ms=1000")
    ).json()
    assert len(window["tracks"]) == 4  # two people × camera and microphone, main room only
    assert all(len(rows) == 1 and rows[0][1] < 1000 for rows in window["tracks"].values())
    page = await client.get(f"/recordings/{rec.recorded.session_id}")
    assert page.status == 200
    text = await page.text()
    assert "已封存" in text and "data-view=" in text


async def test_caucus_segment_sealed_until_released(
    client: TestClient, rec: Fixture, db: AsyncSession
) -> None:
    sid = rec.recorded.session_id
    await login(client, "lz_court_clerk")
    sealed = await client.get(media(rec, rec.caucus_video), headers=JSON)
    assert sealed.status == 404
    missing = await client.get(f"/recordings/{sid}/segments/99999999", headers=JSON)
    assert await sealed.json() == await missing.json()
    csrf = await login(client, "lz_court_clerk")
    refused = await client.post(
        f"/api/recordings/{sid}/releases",
        json={"sub_room": "caucus-1", "reason": "法院需要", "confirm": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403

    csrf = await login(client, "lz_mediator")
    assert (await client.get(media(rec, rec.caucus_video))).status == 200
    body = await (await client.get(f"/api/recordings/{sid}")).json()
    assert body["releasable_rooms"] == ["caucus-1"]
    unconfirmed = await client.post(
        f"/api/recordings/{sid}/releases",
        json={"sub_room": "caucus-1", "reason": "法院需要"},
        headers={"X-CSRF-Token": csrf},
    )
    assert unconfirmed.status == 422
    released = await client.post(
        f"/api/recordings/{sid}/releases",
        json={"sub_room": "caucus-1", "reason": "司法确认需要核实", "confirm": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert released.status == 201, await released.text()
    again = await client.post(
        f"/api/recordings/{sid}/releases",
        json={"sub_room": "caucus-1", "reason": "再次", "confirm": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status == 409
    nothing = await client.post(
        f"/api/recordings/{sid}/releases",
        json={"sub_room": "caucus-9", "reason": "没有这个", "confirm": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert nothing.status == 404

    await login(client, "lz_court_clerk")
    opened = await client.get(media(rec, rec.caucus_video))
    assert opened.status == 200
    body = await (await client.get(f"/api/recordings/{sid}")).json()
    assert body["rooms"] == ["main", "caucus-1"] and body["sealed_rooms"] == []

    (release,) = await audit_rows(db, "release")
    assert release.actor_name == "lz_mediator" and release.actor_role == "mediator"
    assert release.session_id == sid and release.case_id == rec.recorded.case_id
    assert "司法确认需要核实" in release.detail


# ---------------------------------------------------------------- bad input


TRAVERSALS = (
    "/recordings/{sid}/segments/..%2F..%2Fbilin.sqlite3",
    "/recordings/{sid}/segments/%2e%2e%2fbilin.sqlite3",
    "/recordings/{sid}/segments/{seg}.webm",
    "/recordings/{sid}/segments/-1",
    "/recordings/{sid}/segments/0x10",
    "/recordings/{sid}/segments/99999999999999999999",
    "/recordings/abc/segments/{seg}",
    "/recordings/{sid}%2F..%2F1/segments/{seg}",
    "/recordings/{sid}/segments/{seg}/../../../bilin.sqlite3",
    "/recordings/{sid}/segments/sessions%2F1%2Ftracks%2F1%2F000000.webm",
)


async def test_traversal_attempts_are_not_found(client: TestClient, rec: Fixture) -> None:
    await login(client, "lz_mediator")
    for path in TRAVERSALS:
        url = path.format(sid=rec.recorded.session_id, seg=rec.main_video.id)
        response = await client.get(url)
        assert response.status == 404, url
        assert b"SQLite format" not in await response.read()


async def test_a_segment_of_another_session_is_not_found(
    client: TestClient, rec: Fixture, db: AsyncSession, world: World, settings: Settings
) -> None:
    other = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=2,
        seconds=2,
        segment_seconds=2,
        width=160,
        height=120,
    )
    await db.commit()
    await login(client, "lz_mediator")
    response = await client.get(f"/recordings/{other.session_id}/segments/{rec.main_video.id}")
    assert response.status == 404


# ---------------------------------------------------------------- ranges


async def test_range_requests(client: TestClient, rec: Fixture) -> None:
    await login(client, "lz_court_clerk")
    url = media(rec, rec.main_video)
    size = len(rec.data)
    whole = await client.get(url)
    assert whole.status == 200
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"].startswith("private")
    assert await whole.read() == rec.data

    first = await client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status == 206
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert await first.read() == rec.data[:100]

    middle = await client.get(url, headers={"Range": f"bytes=100-{size // 2}"})
    assert middle.status == 206
    assert await middle.read() == rec.data[100 : size // 2 + 1]

    suffix = await client.get(url, headers={"Range": "bytes=-100"})
    assert suffix.status == 206
    assert suffix.headers["Content-Range"] == f"bytes {size - 100}-{size - 1}/{size}"
    assert await suffix.read() == rec.data[-100:]

    open_ended = await client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert await open_ended.read() == rec.data[-10:]

    beyond = await client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"

    several = await client.get(url, headers={"Range": "bytes=0-1,5-9"})
    assert several.status == 200 and await several.read() == rec.data

    audio = await client.get(media(rec, rec.main_audio))
    assert audio.headers["Content-Type"] == "audio/webm"


# ---------------------------------------------------------------- audit


async def test_playback_is_audited_once_per_view_and_downloads_every_time(
    client: TestClient, rec: Fixture, db: AsyncSession
) -> None:
    await login(client, "lz_court_clerk")
    # The player's first fetches of a view go out together: still one entry.
    first = await asyncio.gather(
        *(client.get(media(rec, seg)) for seg in (rec.main_video, rec.main_audio) * 3)
    )
    assert [r.status for r in first] == [200] * 6
    for _ in range(3):
        assert (
            await client.get(media(rec, rec.main_video), headers={"Range": "bytes=0-9"})
        ).status == 206
    assert (await client.get(media(rec, rec.main_audio))).status == 200
    assert len(await audit_rows(db, "playback")) == 1
    assert (await client.get(media(rec, rec.main_video, view="f" * 32))).status == 200
    playbacks = await audit_rows(db, "playback")
    assert len(playbacks) == 2
    assert playbacks[0].actor_name == "lz_court_clerk"
    assert playbacks[0].actor_role == "court_clerk"
    assert playbacks[0].session_id == rec.recorded.session_id

    for _ in range(2):
        saved = await client.get(media(rec, rec.main_video) + "&download=1")
        assert saved.status == 200
        assert "attachment" in saved.headers["Content-Disposition"]
    downloads = await audit_rows(db, "download")
    assert len(downloads) == 2
    assert downloads[0].object_type == "segment" and downloads[0].object_id == rec.main_video.id
    check = await verify_audit_chain(db)
    assert check.intact and check.entries == 4


async def test_the_audit_page_shows_the_centre_its_scope(
    client: TestClient, rec: Fixture, db: AsyncSession
) -> None:
    await login(client, "lz_court_clerk")
    assert (await client.get(media(rec, rec.main_video))).status == 200
    assert (await client.get("/audit")).status == 404  # not centre staff
    await login(client, "mq_clerk")
    page = await (await client.get("/audit")).text()
    assert "lz_court_clerk" not in page  # another county's case
    await login(client, "lz_clerk")
    page = await (await client.get("/audit?action=playback&verify=1")).text()
    assert "lz_court_clerk" in page and "chain-intact" in page
    page = await (await client.get("/audit?action=download")).text()
    assert "lz_court_clerk" not in page


# ---------------------------------------------------------------- bookmarks, transcript


async def test_bookmarks(client: TestClient, rec: Fixture) -> None:
    sid = rec.recorded.session_id
    csrf = await login(client, "lz_court_clerk")
    added = await client.post(
        f"/api/recordings/{sid}/bookmarks",
        json={"offset_ms": 1500, "note": "当事人表示同意"},
        headers={"X-CSRF-Token": csrf},
    )
    assert added.status == 201
    mark = await added.json()
    body = await (await client.get(f"/api/recordings/{sid}")).json()
    assert [(b["offset_ms"], b["note"], b["own"]) for b in body["bookmarks"]] == [
        (1500, "当事人表示同意", True)
    ]
    csrf = await login(client, "lz_mediator")
    body = await (await client.get(f"/api/recordings/{sid}")).json()
    assert body["bookmarks"][0]["own"] is False
    theirs = await client.delete(
        f"/api/recordings/{sid}/bookmarks/{mark['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert theirs.status == 404
    csrf = await login(client, "lz_court_clerk")
    mine = await client.delete(
        f"/api/recordings/{sid}/bookmarks/{mark['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert mine.status == 204
    body = await (await client.get(f"/api/recordings/{sid}")).json()
    assert body["bookmarks"] == []


async def test_transcript_lines_of_open_rooms_only(
    client: TestClient, rec: Fixture, db: AsyncSession
) -> None:
    for sub_room, text in (("main", "我同意赔偿"), ("caucus-1", "私下说的话")):
        track = await db.scalar(
            select(RecordingTrack).where(
                RecordingTrack.session_id == rec.recorded.session_id,
                RecordingTrack.sub_room == sub_room,
                RecordingTrack.kind == "audio",
            )
        )
        assert track is not None
        transcript = Transcript(
            session_id=track.session_id,
            track_id=track.id,
            participant_id=track.participant_id,
            engine="vosk",
            language="zh-CN",
        )
        db.add(transcript)
        await db.flush()
        db.add(
            TranscriptLine(
                transcript_id=transcript.id,
                session_id=track.session_id,
                participant_id=track.participant_id,
                start_ms=track.start_ms + 500,
                end_ms=track.start_ms + 1500,
                text=text,
                status=TranscriptStatus.MACHINE_DRAFT,
                accepted_at=dt.datetime.now(dt.UTC),
            )
        )
    await db.commit()
    await login(client, "lz_court_clerk")
    body = await (await client.get(f"/api/recordings/{rec.recorded.session_id}")).json()
    assert [(line["text"], line["status"]) for line in body["transcript"]] == [
        ("我同意赔偿", "machine_draft")
    ]
    assert body["transcript"][0]["speaker"] == rec.recorded.seats[0].name


async def test_case_recordings_list(client: TestClient, rec: Fixture, db: AsyncSession) -> None:
    await login(client, "lz_court_clerk")
    page = await client.get(f"/cases/{rec.recorded.case_id}/recordings")
    assert page.status == 200
    assert f'href="/recordings/{rec.recorded.session_id}"' in await page.text()
    count = await db.scalar(select(func.count()).select_from(AuditEntry))
    assert count == 0  # listing and opening pages are not playback
