"""Sealing a recorded session: the manifest says what was recorded and is signed with the
handling centre's key; sealing again changes nothing until the record changes."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.manifest import canonical, parse
from recording.seal import manifest_count, seal_session
from recording.vocabulary import RecordingEventKind, RecordingStatus, SegmentStatus
from server.db import CaucusRelease, IdentityCheck, IdentityDeclaration, RecordingEvent
from server.db.recording import RecordingSegment, RecordingSession
from server.db.signing import SigningKey, TimestampStatus
from server.hearings.vocabulary import IdentityMethod, IdentityOutcome
from server.keys import verify_signature
from server.settings import Settings
from tests.recording.fabricate import make_recorded_session
from tests.world import World


async def test_manifest_lists_the_record_and_is_signed_by_the_centre(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = await make_recorded_session(db, world, tmp_path, parties=2, seconds=4, caucus_seconds=2)
    applicant = made.seats[1]
    declaration = IdentityDeclaration(
        participant_id=applicant.id, name="张三", id_number="620602199001011234"
    )
    db.add(declaration)
    await db.flush()
    db.add(
        IdentityCheck(
            participant_id=applicant.id,
            declaration_id=declaration.id,
            method=IdentityMethod.ID_DOCUMENT_ON_CAMERA,
            outcome=IdentityOutcome.CONFIRMED,
            checked_by_participant_id=made.seats[0].id,
        )
    )
    await db.commit()

    row = await seal_session(db, settings, made.session_id)
    await db.commit()

    body = row.body.encode("utf-8")
    manifest = parse(body)
    assert canonical(manifest) == body
    assert row.timestamp_status == TimestampStatus.NONE
    key = await db.scalar(
        select(SigningKey).where(SigningKey.organisation_id == world.orgs["620602"].id)
    )
    assert key is not None and row.key_id == key.fingerprint
    assert verify_signature(key.public_pem, body, base64.b64decode(row.signature))
    assert not verify_signature(key.public_pem, body + b" ", base64.b64decode(row.signature))

    assert manifest["session"]["centre"]["code"] == "620602"
    assert manifest["signer"]["organisation"]["name"] == "凉州区综治中心"
    assert [p["name"] for p in manifest["participants"]] == ["王调解员", "张三"]
    assert [p["role"] for p in manifest["participants"]] == ["mediator", "applicant"]
    (check,) = manifest["identity_checks"]
    assert check["declared_id_number"] == "620***********1234"
    assert "620602199001011234" not in row.body
    assert check["method"] == "id_document_on_camera" and check["outcome"] == "confirmed"
    assert {c["notice_version"] for c in manifest["consents"]} == {"2026-11"}
    assert all(len(c["notice_sha256"]) == 64 for c in manifest["consents"])
    assert {t["sub_room"] for t in manifest["tracks"]} == {"main", "caucus-1"}
    segments = manifest["segments"]
    assert len(segments) == len(made.segment_ids)
    first = segments[0]
    assert first["file"] == f"tracks/{first['track_id']}/000000.webm"
    assert manifest["chain"]["length"] == len(segments)
    last = max(segments, key=lambda s: s["chain_index"])
    assert manifest["chain"]["head"] == last["chain_hash"]
    assert manifest["started_at"]["utc"].endswith("Z")
    assert manifest["started_at"]["local"].endswith("+08:00")
    kinds = [e["kind"] for e in manifest["timeline"]]
    assert kinds[0] == "start" and kinds[-1] == "stop" and "caucus_open" in kinds
    # Chinese as itself, not \u escapes; no whitespace between tokens.
    assert "王调解员" in row.body and ", " not in row.body.replace("，", "")


async def test_sealing_again_is_idempotent_until_the_record_changes(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = await make_recorded_session(db, world, tmp_path, parties=2, seconds=3, caucus_seconds=2)
    await db.commit()
    first = await seal_session(db, settings, made.session_id)
    await db.commit()
    again = await seal_session(db, settings, made.session_id)
    await db.commit()
    assert again.id == first.id and await manifest_count(db, made.session_id) == 1

    # Releasing the caucus room to the court is recorded: a new version is signed.
    db.add(
        CaucusRelease(
            session_id=made.session_id,
            sub_room="caucus-1",
            released_by_id=world.staff["lz_mediator"].id,
            reason="双方同意向法院提交",
        )
    )
    db.add(
        RecordingEvent(
            session_id=made.session_id,
            kind=RecordingEventKind.GAP,
            at=first.created_at + dt.timedelta(seconds=1),
            offset_ms=2500,
            detail=json.dumps({"from_ms": 2500, "to_ms": 2900}),
        )
    )
    await db.commit()
    second = await seal_session(db, settings, made.session_id)
    await db.commit()
    assert second.version == 2 and await manifest_count(db, made.session_id) == 2
    manifest = parse(second.body.encode("utf-8"))
    assert manifest["version"] == 2
    assert manifest["caucus_releases"][0]["reason"] == "双方同意向法院提交"
    assert {"source": "event", "from_ms": 2500, "to_ms": 2900}.items() <= manifest["gaps"][
        0
    ].items()
    # The first version stays as it was signed.
    assert (await db.get(type(first), first.id)) is not None
    assert parse(first.body.encode("utf-8"))["version"] == 1


async def test_missing_segments_are_gaps(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = await make_recorded_session(db, world, tmp_path, parties=2, seconds=3)
    db.add(
        RecordingSegment(
            track_id=next(iter(made.tracks.values())),
            session_id=made.session_id,
            index=99,
            status=SegmentStatus.MISSING,
            storage_key=f"sessions/{made.session_id}/tracks/x/000099.webm",
            start_ms=3000,
            end_ms=3400,
        )
    )
    await db.commit()
    manifest = parse((await seal_session(db, settings, made.session_id)).body.encode("utf-8"))
    (gap,) = manifest["gaps"]
    assert gap["source"] == "missing_segment" and (gap["from_ms"], gap["to_ms"]) == (3000, 3400)


async def test_a_session_still_recording_is_not_sealed(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = await make_recorded_session(db, world, tmp_path, parties=2, seconds=2)
    session = await db.get(RecordingSession, made.session_id)
    assert session is not None
    session.status = RecordingStatus.RECORDING
    await db.commit()
    with pytest.raises(ValueError, match="still recording"):
        await seal_session(db, settings, made.session_id)
    assert await manifest_count(db, made.session_id) == 0
