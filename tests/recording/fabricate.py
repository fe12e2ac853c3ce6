"""A recorded session made without a live hearing: real VP8 and Opus segment files on the
session clock, and the database rows capture would have written (case, hearing, seats,
consents, session, tracks, segments in a hash chain, timeline).

Tests of sealing, review, export and transcription start from here; capture itself is tested
through the SFU in its own tests. Files are laid out exactly as capture lays them out
(:func:`recording.storage.segment_key` under the local store's root).
"""

from __future__ import annotations

import datetime as dt
import fractions
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from recording.chain import GENESIS, ChainEntry, link
from recording.storage import LocalStore, segment_key
from recording.vocabulary import (
    RecordingEventKind,
    RecordingStatus,
    SegmentStatus,
    TrackKind,
    TrackLabel,
)
from server.db import Case, Hearing, HearingParticipant, Party, RecordingConsent
from server.db.base import utcnow
from server.db.recording import (
    RecordingEvent,
    RecordingSegment,
    RecordingSession,
    RecordingTrack,
)
from server.hearings.vocabulary import HearingKind, ParticipantKind, ParticipantRole
from server.vocabulary import CaseStatus, Channel, DisputeType, Lane, PartyRole
from tests.world import World, id_number

MS = fractions.Fraction(1, 1000)
AUDIO_RATE = 48_000
OPUS_FRAME = 960  # 20 ms

# Seats of a fabricated hearing, in order: (role, name, party role or None for staff).
SEATS: tuple[tuple[ParticipantRole, str, PartyRole | None], ...] = (
    (ParticipantRole.MEDIATOR, "王调解员", None),
    (ParticipantRole.APPLICANT, "张三", PartyRole.APPLICANT),
    (ParticipantRole.RESPONDENT, "李四", PartyRole.RESPONDENT),
    (ParticipantRole.AGENT, "赵律师", PartyRole.AGENT),
)
# A distinct colour (Y, U, V) per seat, so tiles of a composite can be told apart.
COLOURS: tuple[tuple[int, int, int], ...] = (
    (81, 90, 240),  # red
    (145, 54, 34),  # green
    (41, 240, 110),  # blue
    (210, 16, 146),  # yellow
)


@dataclass
class FabricatedSeat:
    """One participant of the fabricated hearing."""

    id: int
    name: str
    role: ParticipantRole
    party_id: int | None


@dataclass
class RecordedSession:
    """What :func:`make_recorded_session` made."""

    session_id: int
    case_id: int
    hearing_id: int
    store_root: Path
    seconds: float
    seats: list[FabricatedSeat]
    # (seat id, sub_room, "camera" | "microphone") -> track id
    tracks: dict[tuple[int, str, str], int] = field(default_factory=dict)
    segment_ids: list[int] = field(default_factory=list)

    @property
    def store(self) -> LocalStore:
        """The local store holding the files."""
        return LocalStore(self.store_root)


def _video_packets(
    seconds: float, colour: tuple[int, int, int], width: int, height: int, fps: int, gop: int
) -> list[tuple[bytes, bool, int]]:
    """VP8 packets ``(data, keyframe, pts_ms from 0)``: a coloured picture with a moving bar."""
    encoder: Any = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, fps)
    encoder.framerate = fractions.Fraction(fps, 1)
    encoder.bit_rate = 250_000
    encoder.gop_size = gop
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    # libvpx's default threading costs far more than it saves on pictures this small.
    encoder.thread_count = 1
    y, u, v = colour
    chroma_u = bytes([u]) * ((width // 2) * (height // 2))
    chroma_v = bytes([v]) * ((width // 2) * (height // 2))
    out: list[tuple[bytes, bool, int]] = []
    for index in range(int(seconds * fps)):
        luma = np.full((height, width), y, dtype=np.uint8)
        bar = (index * 4) % width
        luma[:, bar : bar + 8] = 235
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(luma.tobytes())
        frame.planes[1].update(chroma_u)
        frame.planes[2].update(chroma_v)
        frame.pts = index
        if index % gop == 0:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in encoder.encode(frame):
            out.append((bytes(packet), bool(packet.is_keyframe), int(packet.pts * 1000 / fps)))
    for packet in encoder.encode(None):
        out.append((bytes(packet), bool(packet.is_keyframe), int(packet.pts * 1000 / fps)))
    return out


def _pcm(seconds: float, seat_index: int, speech: Path | None) -> np.ndarray:
    """48 kHz stereo int16 samples: the speech file (padded with silence), or a tone."""
    total = int(seconds * AUDIO_RATE)
    if speech is not None:
        container = av.open(str(speech))
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE)
        chunks = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1, 2))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1, 2))
        container.close()
        voice = np.concatenate(chunks) if chunks else np.zeros((0, 2), np.int16)
        pcm = np.zeros((total, 2), np.int16)
        pcm[: min(total, len(voice))] = voice[:total]
        return pcm
    t = np.arange(total) / AUDIO_RATE
    tone = (6000 * np.sin(2 * math.pi * (300 + 110 * seat_index) * t)).astype(np.int16)
    return np.stack([tone, tone], axis=1)


def _audio_packets(pcm: np.ndarray) -> list[tuple[bytes, bool, int]]:
    """Opus packets ``(data, True, pts_ms from 0)`` of 20 ms each."""
    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = AUDIO_RATE
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.bit_rate = 32_000
    encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
    out: list[tuple[bytes, bool, int]] = []
    for index in range(len(pcm) // OPUS_FRAME):
        chunk = np.ascontiguousarray(pcm[index * OPUS_FRAME : (index + 1) * OPUS_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * OPUS_FRAME
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        for packet in encoder.encode(frame):
            out.append((bytes(packet), True, index * 20))
    return out


def write_segment(
    path: Path,
    kind: TrackKind,
    packets: Sequence[tuple[bytes, bool, int]],
    *,
    width: int = 320,
    height: int = 240,
) -> None:
    """Mux ``packets`` (pts already on the session clock, ms) into one WebM file, the way
    capture does: no decoding, crash-safe options."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = av.open(
        str(path), "w", format="webm", options={"flush_packets": "1", "cluster_time_limit": "1000"}
    )
    stream: Any
    if kind == TrackKind.VIDEO:
        stream = out.add_mux_stream("vp8", width=width, height=height)
    else:
        stream = out.add_stream("libopus", rate=AUDIO_RATE)
        stream.layout = "stereo"
    stream.time_base = MS
    for data, key, pts in packets:
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = MS
        packet.is_keyframe = key
        out.mux(packet)
    out.close()


async def make_recorded_session(
    db: AsyncSession,
    world: World,
    store_root: Path,
    *,
    parties: int = 4,
    seconds: float = 30.0,
    segment_seconds: float = 10.0,
    caucus_seconds: float = 0.0,
    speech: dict[int, Path] | None = None,
    late_join: dict[int, float] | None = None,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
) -> RecordedSession:
    """Make a stopped recording session of a new case's mediation, with real files.

    ``parties`` seats (2–4, mediator first) each have a camera (VP8) and a microphone (Opus,
    a tone, or ``speech[seat_index]`` — any audio file) track in the main room for
    ``seconds``. ``late_join[seat_index]`` delays a seat's tracks by that many seconds.
    ``caucus_seconds`` > 0 adds a caucus room ``caucus-1`` after the main room time, where the
    mediator and the applicant were recorded apart. Segments are cut every
    ``segment_seconds`` on keyframes and linked in the session's hash chain in closing order.
    The caller commits.
    """
    assert 2 <= parties <= len(SEATS)
    speech = speech or {}
    late_join = late_join or {}
    centre = world.orgs["620602"]
    now = utcnow()
    case = Case(
        status=CaseStatus.MEDIATING,
        channel=Channel.WALK_IN,
        dispute_type=DisputeType.NEIGHBOUR,
        lane=Lane.NORMAL,
        title="邻里漏水纠纷（录像）",
        facts="楼上漏水，损坏楼下天花板",
        claims="赔偿维修费用",
        centre_id=centre.id,
        scope_path=centre.path,
        court_id=world.orgs["620602-C01"].id,
        mediator_id=world.staff["lz_mediator"].id,
        accepted_on=now.date(),
        accepted_at=now,
    )
    db.add(case)
    await db.flush()
    hearing = Hearing(
        case_id=case.id,
        kind=HearingKind.MEDIATION,
        starts_at=now - dt.timedelta(seconds=seconds + caucus_seconds + 60),
        created_by_id=world.staff["lz_mediator"].id,
    )
    db.add(hearing)
    await db.flush()

    seats: list[FabricatedSeat] = []
    for index, (role, name, party_role) in enumerate(SEATS[:parties]):
        party_id = None
        if party_role is not None:
            party = Party(
                case_id=case.id,
                role=party_role,
                name=name,
                id_number=id_number(seq=f"{100 + index}"),
            )
            db.add(party)
            await db.flush()
            party_id = party.id
        seat = HearingParticipant(
            hearing_id=hearing.id,
            role=role,
            kind=ParticipantKind.PARTY if party_id else ParticipantKind.STAFF,
            party_id=party_id,
            staff_id=None if party_id else world.staff["lz_mediator"].id,
            name=name,
        )
        db.add(seat)
        await db.flush()
        db.add(
            RecordingConsent(
                participant_id=seat.id,
                notice_version="2026-11",
                notice_sha256=hashlib.sha256(b"notice 2026-11").hexdigest(),
                locale="zh-CN",
                given=True,
            )
        )
        seats.append(FabricatedSeat(seat.id, name, role, party_id))

    started_at = now - dt.timedelta(seconds=seconds + caucus_seconds)
    session = RecordingSession(
        hearing_id=hearing.id,
        case_id=case.id,
        status=RecordingStatus.STOPPED,
        started_at=started_at,
        ended_at=now,
        started_by_participant_id=seats[0].id,
        worker="fabricated",
    )
    db.add(session)
    await db.flush()
    result = RecordedSession(
        session.id, case.id, hearing.id, store_root, seconds + caucus_seconds, seats
    )
    events: list[tuple[RecordingEventKind, int, int | None, str | None, dict[str, Any]]] = [
        (RecordingEventKind.START, 0, seats[0].id, "main", {})
    ]

    # (seat index, sub_room, start_s, length_s)
    spans = [
        (i, "main", late_join.get(i, 0.0), seconds - late_join.get(i, 0.0)) for i in range(parties)
    ]
    if caucus_seconds > 0:
        spans += [
            (0, "caucus-1", seconds, caucus_seconds),
            (1, "caucus-1", seconds, caucus_seconds),
        ]
        events.append(
            (RecordingEventKind.CAUCUS_OPEN, int(seconds * 1000), seats[0].id, "caucus-1", {})
        )
        for i in range(parties):
            if i > 1:
                continue
            events.append(
                (
                    RecordingEventKind.MOVE,
                    int(seconds * 1000),
                    seats[i].id,
                    "caucus-1",
                    {"from": "main", "to": "caucus-1"},
                )
            )
    for i, _room, start_s, _length in spans:
        if _room == "main":
            events.append((RecordingEventKind.JOIN, int(start_s * 1000), seats[i].id, "main", {}))

    # Closed segments, in closing order (by end time, then track), for the chain.
    closed: list[tuple[int, RecordingSegment]] = []
    gop = max(1, int(segment_seconds * fps))
    for seat_index, sub_room, start_s, length in spans:
        fabricated = seats[seat_index]
        start_ms = int(start_s * 1000)
        video = _video_packets(length, COLOURS[seat_index], width, height, fps, gop)
        audio = _audio_packets(_pcm(length, seat_index, speech.get(seat_index)))
        for kind, label, packets in (
            (TrackKind.VIDEO, TrackLabel.CAMERA, video),
            (TrackKind.AUDIO, TrackLabel.MICROPHONE, audio),
        ):
            track = RecordingTrack(
                session_id=session.id,
                participant_id=fabricated.id,
                sub_room=sub_room,
                kind=kind,
                label=label,
                codec="vp8" if kind == TrackKind.VIDEO else "opus",
                container="webm",
                first_frame_at=started_at + dt.timedelta(milliseconds=start_ms),
                start_ms=start_ms,
                end_ms=start_ms + int(length * 1000),
            )
            db.add(track)
            await db.flush()
            result.tracks[(fabricated.id, sub_room, str(label))] = track.id
            # Cut every segment_seconds (video keyframes fall exactly on the cuts).
            cut_ms = int(segment_seconds * 1000)
            groups: dict[int, list[tuple[bytes, bool, int]]] = {}
            for data, key, pts in packets:
                groups.setdefault(pts // cut_ms, []).append((data, key, start_ms + pts))
            for index, group_key in enumerate(sorted(groups)):
                group = groups[group_key]
                key_name = segment_key(session.id, track.id, index, "webm")
                path = LocalStore(store_root).path(key_name)
                write_segment(path, kind, group, width=width, height=height)
                data = path.read_bytes()
                seg_start = group[0][2]
                seg_end = group[-1][2] + (20 if kind == TrackKind.AUDIO else 1000 // fps)
                segment = RecordingSegment(
                    track_id=track.id,
                    session_id=session.id,
                    index=index,
                    status=SegmentStatus.CLOSED,
                    storage_key=key_name,
                    start_ms=seg_start,
                    end_ms=seg_end,
                    bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    opened_at=started_at + dt.timedelta(milliseconds=seg_start),
                    closed_at=started_at + dt.timedelta(milliseconds=seg_end),
                )
                db.add(segment)
                closed.append((seg_end, segment))
            events.append(
                (
                    RecordingEventKind.TRACK_START,
                    start_ms,
                    fabricated.id,
                    sub_room,
                    {"label": str(label)},
                )
            )
    await db.flush()

    head, length_ = GENESIS, 0
    for _end, segment in sorted(closed, key=lambda item: (item[0], item[1].track_id)):
        segment.chain_index = length_
        head = link(
            head,
            ChainEntry(
                session_id=session.id,
                chain_index=length_,
                track_id=segment.track_id,
                segment_index=segment.index,
                start_ms=segment.start_ms,
                end_ms=segment.end_ms or segment.start_ms,
                sha256=segment.sha256 or "",
            ),
        )
        segment.chain_hash = head
        length_ += 1
        result.segment_ids.append(segment.id)
    session.chain_head = head
    session.chain_length = length_

    end_ms = int((seconds + caucus_seconds) * 1000)
    events.append((RecordingEventKind.STOP, end_ms, seats[0].id, "main", {}))
    for kind_, offset, participant_id, sub_room_, detail in sorted(events, key=lambda e: e[1]):
        db.add(
            RecordingEvent(
                session_id=session.id,
                kind=kind_,
                at=started_at + dt.timedelta(milliseconds=offset),
                offset_ms=offset,
                participant_id=participant_id,
                sub_room=sub_room_,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )
    await db.flush()
    return result
