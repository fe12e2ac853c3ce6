"""Recording a live hearing through the protocol: the real app, SFU and recorder, synthetic
aiortc participants publishing pre-encoded VP8/Opus, consents given through the join API.

What is checked is what a court and the people in the hearing would notice: who is recorded
(and who is not), caucus rooms apart, nothing written while paused, every file plays, the chain
verifies, the timeline says what happened when, the indicator everyone sees, and refusals.
SQLite only (the chain under concurrent closes on PostgreSQL is tested in tests/recording).
"""

from __future__ import annotations

import asyncio
import errno
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.chain import GENESIS, ChainEntry, link
from recording.segment_writer import SegmentWriter
from recording.track_recorder import TrackRecorder
from recording.vocabulary import RecordingEventKind, RecordingStatus, SegmentStatus
from server.appkeys import RECORDING, SESSIONMAKER
from server.db.recording import RecordingEvent, RecordingSegment, RecordingSession, RecordingTrack
from server.hearings.consent import RECORDING_NOTICE_VERSION
from signaling.media.synthetic import EncodedClip
from tests.world import World

from .test_live_support import Client, Hearing, Live, cookie_header, hearing


@pytest.fixture
def backend() -> str:
    """SQLite only (overrides the conftest's parametrized backend)."""
    return "sqlite"


async def consent(h: Hearing, role: str, given: bool) -> str:
    """``role`` opens their link and answers the recording notice; their cookies."""
    person, csrf = await h.open(role)
    response = await person.post(
        "/api/join/consent",
        json={"notice_version": RECORDING_NOTICE_VERSION, "given": given},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status in (200, 201), await response.text()
    return cookie_header(person.cookie_jar)


async def until(predicate: Callable[[], Any], within: float = 10.0, what: str = "") -> None:
    """Poll a condition with a deadline (the database has no events to wait on)."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def rows(h: Hearing, model: Any, *where: Any) -> list[Any]:
    async with h.client.app[SESSIONMAKER]() as db:
        return list((await db.scalars(select(model).where(*where))).all())


async def session_of(h: Hearing) -> RecordingSession:
    sessions = await rows(h, RecordingSession, RecordingSession.hearing_id == h.id)
    assert sessions
    return sessions[-1]  # type: ignore[no-any-return]


def decoded_ms(path: Path) -> list[int]:
    """Session-clock ms of every packet in a file (demuxed: the file must parse)."""
    out = []
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                out.append(int(packet.pts * packet.time_base * 1000))
    return out


def verify_chain(session: RecordingSession, segments: list[RecordingSegment]) -> None:
    """Recompute every link with recording.chain: the stored chain must match."""
    head = GENESIS
    for index, segment in enumerate(sorted(segments, key=lambda s: s.chain_index)):
        assert segment.chain_index == index
        assert segment.end_ms is not None and segment.sha256
        head = link(
            head,
            ChainEntry(
                session.id,
                index,
                segment.track_id,
                segment.index,
                segment.start_ms,
                segment.end_ms,
                segment.sha256,
            ),
        )
        assert segment.chain_hash == head
    assert session.chain_head == head and session.chain_length == len(segments)


async def everyone_joins(
    h: Hearing, video: EncodedClip, audio: EncodedClip, *, respondent_consents: bool = False
) -> tuple[Live, Live, Live]:
    applicant_cookies = await consent(h, "applicant", True)
    respondent_cookies = await consent(h, "respondent", respondent_consents)
    mediator, _ = await h.join("mediator")
    applicant, _ = await h.join("applicant", applicant_cookies)
    respondent, _ = await h.join("respondent", respondent_cookies)
    for live in (mediator, applicant, respondent):
        await live.start_media(video, audio)
    await h.admitted(mediator, applicant, respondent)
    await mediator.wait_packets(lambda: mediator.packets_from(h.seat("applicant")) > 30)
    return mediator, applicant, respondent


def recording_events(live: Live) -> list[dict[str, Any]]:
    return live.events("recording")


async def test_recording_consenting_people_caucus_apart_pause_and_a_verifying_chain(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    client.app[RECORDING].segment_seconds = 2.0
    async with hearing(client, world) as h:
        mediator, applicant, respondent = await everyone_joins(h, video_clip, audio_clip)
        # Before anything: everyone was told nothing is recorded.
        await applicant.wait_for(lambda: bool(recording_events(applicant)), what="flag")
        assert recording_events(applicant)[-1]["active"] is False

        refused = await applicant.call("recording_start", {})
        assert refused["ok"] is False and refused["error"]["code"] == "error.live_forbidden"
        assert (await mediator.call("recording_pause", {}))["error"]["code"] == (
            "error.recording_not_active"
        )

        ack = await mediator.call("recording_start", {})
        assert ack["ok"], ack
        assert ack["recording"]["status"] == "recording"
        for live in (mediator, applicant, respondent):
            await live.wait_for(
                lambda lv=live: recording_events(lv)[-1]["status"] == "recording", what="flag"
            )
            assert recording_events(live)[-1]["active"] is True
            assert recording_events(live)[-1]["since"]

        seat = {role: h.seat(role) for role in ("mediator", "applicant", "respondent")}

        async def main_tracks() -> set[tuple[int, str]]:
            tracks = await rows(h, RecordingTrack, RecordingTrack.sub_room == "main")
            return {(t.participant_id, t.kind) for t in tracks}

        want = {(seat[r], k) for r in ("mediator", "applicant") for k in ("audio", "video")}
        await until(lambda: _eq(main_tracks(), want), what="main-room tracks")

        # The mediator takes the applicant aside: a caucus room, recorded in its own tracks.
        opened = await mediator.call("open_caucus", {"label": "申请人"})
        assert opened["ok"], opened
        for role in ("applicant", "mediator"):
            ack = await mediator.call("move", {"participant_id": seat[role], "room": "caucus-1"})
            assert ack["ok"], ack

        async def caucus_tracks() -> set[tuple[int, str]]:
            tracks = await rows(h, RecordingTrack, RecordingTrack.sub_room == "caucus-1")
            return {(t.participant_id, t.kind) for t in tracks}

        await until(lambda: _eq(caucus_tracks(), want), what="caucus tracks")
        await until(
            lambda: _segments_closed_in(h, "caucus-1"), within=15, what="a closed caucus segment"
        )
        for role in ("applicant", "mediator"):
            assert (await mediator.call("move", {"participant_id": seat[role], "room": "main"}))[
                "ok"
            ]
        assert (await mediator.call("close_caucus", {"room": "caucus-1"}))["ok"]

        # Pause: nothing is written until resumed.
        session = await session_of(h)
        assert (await mediator.call("recording_pause", {}))["ok"]
        await applicant.wait_for(
            lambda: recording_events(applicant)[-1]["status"] == "paused", what="paused flag"
        )
        paused_at = _offset(session)
        await asyncio.sleep(2.5)  # a stretch of time that must stay empty in every file
        resumed_at = _offset(session)
        assert (await mediator.call("recording_resume", {}))["ok"]
        await until(
            lambda: _written_after(h, resumed_at + 500), within=15, what="media after resume"
        )

        ack = await mediator.call("recording_stop", {})
        assert ack["ok"] and ack["recording"]["status"] == "stopped", ack
        for live in (mediator, applicant, respondent):
            await live.wait_for(
                lambda lv=live: recording_events(lv)[-1]["status"] == "stopped", what="stopped"
            )

        session = await session_of(h)
        assert session.status == RecordingStatus.STOPPED and session.ended_at is not None
        tracks = await rows(h, RecordingTrack, RecordingTrack.session_id == session.id)
        assert seat["respondent"] not in {t.participant_id for t in tracks}  # declined
        assert all(t.end_ms is not None for t in tracks)
        segments = await rows(h, RecordingSegment, RecordingSegment.session_id == session.id)
        assert segments and {s.status for s in segments} == {SegmentStatus.CLOSED}
        verify_chain(session, segments)

        spool = client.app[RECORDING].spool
        by_track = {t.id: t for t in tracks}
        for segment in segments:
            path = spool.path(segment.storage_key)
            assert path.stat().st_size == segment.bytes
            stamps = decoded_ms(path)
            assert stamps, segment.storage_key
            # Timestamps are session-clock and inside the segment's span.
            assert segment.start_ms - 50 <= min(stamps) and max(stamps) <= segment.end_ms + 50
            # Nothing from the paused stretch (a frame in flight at the pause may end it).
            inside = [ms for ms in stamps if paused_at + 400 < ms < resumed_at - 100]
            assert inside == [], (by_track[segment.track_id].kind, inside[:5])

        events = await rows(h, RecordingEvent, RecordingEvent.session_id == session.id)
        kinds = [e.kind for e in sorted(events, key=lambda e: (e.offset_ms, e.id))]
        for kind in (
            RecordingEventKind.START,
            RecordingEventKind.CONSENT,
            RecordingEventKind.TRACK_START,
            RecordingEventKind.CAUCUS_OPEN,
            RecordingEventKind.MOVE,
            RecordingEventKind.CAUCUS_CLOSE,
            RecordingEventKind.PAUSE,
            RecordingEventKind.RESUME,
            RecordingEventKind.TRACK_END,
            RecordingEventKind.STOP,
        ):
            assert kind in kinds, kind
        assert kinds[0] == RecordingEventKind.START
        duration = _offset(session)
        by_kind = {e.kind: e for e in events}
        assert 0 <= by_kind[RecordingEventKind.PAUSE].offset_ms <= paused_at + 200
        assert by_kind[RecordingEventKind.RESUME].offset_ms >= resumed_at - 200
        assert all(0 <= e.offset_ms <= duration for e in events)
        moves = [json.loads(e.detail) for e in events if e.kind == RecordingEventKind.MOVE]
        assert {"from": "main", "to": "caucus-1"} in moves
        consents = {
            e.participant_id: json.loads(e.detail)
            for e in events
            if e.kind == RecordingEventKind.CONSENT
        }
        assert consents[seat["respondent"]] == {
            "given": False,
            "notice_version": RECORDING_NOTICE_VERSION,
        }
        assert consents[seat["applicant"]]["given"] is True


async def _eq(value: Any, want: Any) -> bool:
    return bool(await value == want)


async def _segments_closed_in(h: Hearing, sub_room: str) -> bool:
    async with h.client.app[SESSIONMAKER]() as db:
        return await _closed_count(db, sub_room) > 0


async def _closed_count(db: AsyncSession, sub_room: str) -> int:
    found = await db.scalars(
        select(RecordingSegment.id)
        .join(RecordingTrack, RecordingTrack.id == RecordingSegment.track_id)
        .where(RecordingTrack.sub_room == sub_room, RecordingSegment.status == "closed")
    )
    return len(found.all())


async def _written_after(h: Hearing, offset_ms: int) -> bool:
    segments = await rows(h, RecordingSegment, RecordingSegment.start_ms >= offset_ms)
    return bool(segments)


def _offset(session: RecordingSession) -> int:
    return int((time.time() - session.started_at.timestamp()) * 1000)


async def test_start_is_refused_without_room_on_disk(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    client.app[RECORDING].min_free_mb = 10**9  # more than any disk has
    async with hearing(client, world) as h:
        mediator, _ = await h.join("mediator")
        ack = await mediator.call("recording_start", {})
        assert ack["ok"] is False
        assert ack["error"]["code"] == "error.recording_disk_low"
        assert "MB" in ack["error"]["message"]
        assert await rows(h, RecordingSession, RecordingSession.hearing_id == h.id) == []


async def test_disk_running_low_stops_the_recording_visibly(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        mediator, applicant, _ = await everyone_joins(h, video_clip, audio_clip)
        assert (await mediator.call("recording_start", {}))["ok"]
        await until(lambda: _segments_open(h), what="a segment")

        client.app[RECORDING].min_free_mb = 10**9  # the disk "fills up"
        for live in (mediator, applicant):
            await live.wait_for(
                lambda lv=live: recording_events(lv)[-1]["status"] == "stopped",
                within=10,
                what="recording stopped",
            )
        event = recording_events(mediator)[-1]
        assert event["reason"] == "disk_low" and "磁盘" in event["message"]
        session = await session_of(h)
        assert session.status == RecordingStatus.STOPPED
        kinds = {
            e.kind for e in await rows(h, RecordingEvent, RecordingEvent.session_id == session.id)
        }
        assert RecordingEventKind.DISK_LOW in kinds and RecordingEventKind.STOP in kinds
        segments = await rows(h, RecordingSegment, RecordingSegment.session_id == session.id)
        assert segments and all(s.status == SegmentStatus.CLOSED for s in segments)


async def test_a_withdrawn_consent_stops_that_persons_tracks(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    async with hearing(client, world) as h:
        mediator, _, _ = await everyone_joins(h, video_clip, audio_clip)
        assert (await mediator.call("recording_start", {}))["ok"]
        seat = h.seat("applicant")

        async def applicant_tracks() -> list[RecordingTrack]:
            return await rows(h, RecordingTrack, RecordingTrack.participant_id == seat)

        await until(lambda: _count(applicant_tracks(), 2), what="applicant recorded")
        await consent(h, "applicant", False)
        await until(
            lambda: _all_ended(applicant_tracks()), within=10, what="applicant's tracks ended"
        )
        mediator_tracks = await rows(
            h, RecordingTrack, RecordingTrack.participant_id == h.seat("mediator")
        )
        assert mediator_tracks and all(t.end_ms is None for t in mediator_tracks)
        session = await session_of(h)
        events = await rows(h, RecordingEvent, RecordingEvent.session_id == session.id)
        assert any(
            e.kind == RecordingEventKind.CONSENT
            and e.participant_id == seat
            and json.loads(e.detail)["given"] is False
            for e in events
        )
        assert (await mediator.call("recording_stop", {}))["ok"]


async def _segments_open(h: Hearing) -> bool:
    return bool(await rows(h, RecordingSegment))


async def _count(value: Any, n: int) -> bool:
    return len(await value) == n


async def _all_ended(value: Any) -> bool:
    tracks = await value
    return bool(tracks) and all(t.end_ms is not None for t in tracks)


async def test_autostart_records_from_the_first_admission_screen_shares_included(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    client.app[RECORDING].autostart = True  # centre policy: BILIN_RECORDING_AUTOSTART
    async with hearing(client, world) as h:
        applicant_cookies = await consent(h, "applicant", True)
        mediator, _ = await h.join("mediator")
        applicant, _ = await h.join("applicant", applicant_cookies)
        await applicant.wait_for(lambda: bool(recording_events(applicant)), what="flag")
        assert recording_events(applicant)[-1]["status"] == "stopped"
        await h.admitted(mediator, applicant)
        for live in (mediator, applicant):
            await live.wait_for(
                lambda lv=live: recording_events(lv)[-1]["status"] == "recording",
                what="recording after the admission",
            )
        session = await session_of(h)
        assert session.started_by_participant_id == h.seat("mediator")

        # A screen share is recorded too, as its own track.
        await applicant.start_media(video_clip, audio_clip)
        assert applicant.media is not None
        ack = await applicant.call(
            "publish", {"sdp": await applicant.media.screen_offer(video_clip)}
        )
        assert ack["ok"], ack
        await applicant.media.publish_done(ack["sdp"])

        async def screen_recorded() -> bool:
            tracks = await rows(h, RecordingTrack, RecordingTrack.session_id == session.id)
            return any(
                t.label == "screen" and t.participant_id == h.seat("applicant") for t in tracks
            ) and bool(
                await rows(
                    h,
                    RecordingSegment,
                    RecordingSegment.session_id == session.id,
                    RecordingSegment.track_id.in_([t.id for t in tracks if t.label == "screen"]),
                )
            )

        await until(screen_recorded, what="the screen share recorded")
        events = await rows(h, RecordingEvent, RecordingEvent.session_id == session.id)
        joined = {e.participant_id for e in events if e.kind == RecordingEventKind.JOIN}
        assert joined == {h.seat("mediator"), h.seat("applicant")}
        assert (await mediator.call("recording_stop", {}))["ok"]


class FullDisk(SegmentWriter):
    """A segment writer on a disk that fills up after a few frames."""

    def write(self, data: bytes, pts_ms: int, keyframe: bool, duration_ms: int = 0) -> None:
        if pts_ms > 500:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().write(data, pts_ms, keyframe, duration_ms)


async def test_a_write_failing_for_lack_of_space_stops_the_recording_visibly(
    client: Client, world: World, video_clip: EncodedClip, audio_clip: EncodedClip
) -> None:
    def factory(
        info: Any, origin: float, spool: Any, key_for: Any, events: Any, kf: Any, seg: float
    ) -> Any:
        return TrackRecorder(
            info, origin, spool, key_for, events, request_keyframe=kf, writer_factory=FullDisk
        )

    client.app[RECORDING].factory = factory
    async with hearing(client, world) as h:
        mediator, applicant, _ = await everyone_joins(h, video_clip, audio_clip)
        assert (await mediator.call("recording_start", {}))["ok"]
        for live in (mediator, applicant):
            await live.wait_for(
                lambda lv=live: recording_events(lv)[-1]["status"] == "stopped",
                within=15,
                what="recording stopped by the full disk",
            )
        assert recording_events(applicant)[-1]["reason"] == "disk_low"
        session = await session_of(h)
        assert session.status == RecordingStatus.STOPPED
        events = await rows(h, RecordingEvent, RecordingEvent.session_id == session.id)
        assert RecordingEventKind.DISK_LOW in {e.kind for e in events}
        failed = [
            json.loads(e.detail)
            for e in events
            if e.kind == RecordingEventKind.TRACK_END and "error" in json.loads(e.detail)
        ]
        assert failed and "No space left" in failed[0]["error"]
