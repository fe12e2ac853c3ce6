"""A recording session's manifest: what was recorded, by whom, with which consents, and the
hash of every segment, as one canonical JSON document that the centre signs.

Canonical form (what is signed, stored and exported as ``manifest.json``): the JSON object
serialised with keys sorted at every level, no insignificant whitespace (``","`` and ``":"``
separators), non-ASCII characters written as themselves (not ``\\u`` escapes), encoded as
UTF-8, no trailing newline. Only strings, integers, booleans, null, lists and objects occur
(no floats), so any JSON library re-serialising it the same way gets the same bytes.
Times are ISO 8601: ``utc`` with a ``Z`` suffix and ``local`` with the centre's offset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recording.chain import CHAIN_VERSION, GENESIS
from recording.package_layout import segment_path
from recording.vocabulary import RecordingEventKind, SegmentStatus
from server.db.case import Case
from server.db.hearing import (
    Hearing,
    HearingParticipant,
    IdentityCheck,
    IdentityDeclaration,
    RecordingConsent,
)
from server.db.organisation import Organisation
from server.db.recording import (
    CaucusRelease,
    RecordingEvent,
    RecordingSegment,
    RecordingSession,
    RecordingTrack,
)
from server.validation import mask_id_number

FORMAT = "bilin-recording-manifest/1"


class ManifestError(ValueError):
    """A manifest that is not well formed; the message names the field."""


def canonical(document: dict[str, Any]) -> bytes:
    """The canonical bytes of a manifest (see the module docstring)."""
    return json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``, hex."""
    return hashlib.sha256(data).hexdigest()


def _time(value: dt.datetime | None, tz: ZoneInfo) -> dict[str, str] | None:
    if value is None:
        return None
    utc = value.astimezone(dt.UTC)
    return {
        "utc": utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "local": utc.astimezone(tz).isoformat(timespec="milliseconds"),
    }


def _detail(text: str) -> Any:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"raw": text}
    # Floats would make the canonical form depend on float formatting.
    return _no_floats(value)


def _no_floats(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return {str(k): _no_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_floats(v) for v in value]
    return value


@dataclass(frozen=True)
class Signer:
    """Who signs: the organisation and its key id."""

    organisation_id: int
    code: str
    name: str
    key_id: str


async def build_manifest(
    db: AsyncSession, session_id: int, signer: Signer, version: int, timezone: str
) -> dict[str, Any]:
    """The manifest document of recording session ``session_id`` as the database has it."""
    tz = ZoneInfo(timezone)
    session = await db.get(RecordingSession, session_id)
    if session is None:
        raise LookupError(f"no recording session {session_id}")
    hearing = await db.get(Hearing, session.hearing_id)
    case = await db.get(Case, session.case_id)
    assert hearing is not None and case is not None
    centre = await db.get(Organisation, case.centre_id)
    assert centre is not None

    participants = (
        await db.scalars(
            select(HearingParticipant)
            .where(HearingParticipant.hearing_id == hearing.id)
            .order_by(HearingParticipant.id)
        )
    ).all()
    participant_ids = [p.id for p in participants]
    checks = (
        await db.execute(
            select(IdentityCheck, IdentityDeclaration)
            .outerjoin(IdentityDeclaration, IdentityDeclaration.id == IdentityCheck.declaration_id)
            .where(IdentityCheck.participant_id.in_(participant_ids))
            .order_by(IdentityCheck.at, IdentityCheck.id)
        )
    ).all()
    consents = (
        await db.scalars(
            select(RecordingConsent)
            .where(RecordingConsent.participant_id.in_(participant_ids))
            .order_by(RecordingConsent.at, RecordingConsent.id)
        )
    ).all()
    tracks = (
        await db.scalars(
            select(RecordingTrack)
            .where(RecordingTrack.session_id == session_id)
            .order_by(RecordingTrack.id)
        )
    ).all()
    segments = (
        await db.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.session_id == session_id)
            .order_by(RecordingSegment.track_id, RecordingSegment.index)
        )
    ).all()
    events = (
        await db.scalars(
            select(RecordingEvent)
            .where(RecordingEvent.session_id == session_id)
            .order_by(RecordingEvent.offset_ms, RecordingEvent.id)
        )
    ).all()
    releases = (
        await db.scalars(
            select(CaucusRelease)
            .where(CaucusRelease.session_id == session_id)
            .order_by(CaucusRelease.at, CaucusRelease.id)
        )
    ).all()
    container = {t.id: t.container for t in tracks}

    return {
        "format": FORMAT,
        "version": version,
        "session": {
            "id": session.id,
            "status": session.status.value,
            "hearing": {"id": hearing.id, "kind": hearing.kind.value},
            "case": {"id": case.id, "number": case.number},
            "centre": {"id": centre.id, "code": centre.code, "name": centre.name},
        },
        "timezone": timezone,
        "started_at": _time(session.started_at, tz),
        "ended_at": _time(session.ended_at, tz),
        "participants": [
            {
                "id": p.id,
                "role": p.role.value,
                "kind": p.kind.value,
                "name": p.name,
                "headcount": p.headcount,
                "do_not_record": p.do_not_record,
            }
            for p in participants
        ],
        "identity_checks": [
            {
                "participant_id": check.participant_id,
                "method": check.method.value,
                "outcome": check.outcome.value,
                "declared_name": declaration.name if declaration else None,
                "declared_id_number": (
                    mask_id_number(declaration.id_number) if declaration else None
                ),
                "checked_by_participant_id": check.checked_by_participant_id,
                "checked_by_staff_id": check.checked_by_staff_id,
                "at": _time(check.at, tz),
            }
            for check, declaration in checks
        ],
        "consents": [
            {
                "participant_id": c.participant_id,
                "given": c.given,
                "notice_version": c.notice_version,
                "notice_sha256": c.notice_sha256,
                "locale": c.locale,
                "at": _time(c.at, tz),
            }
            for c in consents
        ],
        "tracks": [
            {
                "id": t.id,
                "participant_id": t.participant_id,
                "sub_room": t.sub_room,
                "kind": t.kind.value,
                "label": t.label.value,
                "codec": t.codec,
                "container": t.container,
                "first_frame_at": _time(t.first_frame_at, tz),
                "start_ms": t.start_ms,
                "end_ms": t.end_ms,
            }
            for t in tracks
        ],
        "segments": [
            {
                "track_id": s.track_id,
                "index": s.index,
                "file": segment_path(s.track_id, s.index, container[s.track_id]),
                "start_ms": s.start_ms,
                "end_ms": s.end_ms,
                "bytes": s.bytes,
                "sha256": s.sha256,
                "status": s.status.value,
                "chain_index": s.chain_index,
                "chain_hash": s.chain_hash,
            }
            for s in segments
        ],
        "gaps": _gaps(events, segments),
        "timeline": [
            {
                "id": e.id,
                "kind": e.kind.value,
                "at": _time(e.at, tz),
                "offset_ms": e.offset_ms,
                "participant_id": e.participant_id,
                "sub_room": e.sub_room,
                "detail": _detail(e.detail),
            }
            for e in events
        ],
        "chain": {
            "version": CHAIN_VERSION,
            "genesis": GENESIS,
            "head": session.chain_head or GENESIS,
            "length": session.chain_length,
        },
        "caucus_releases": [
            {
                "sub_room": r.sub_room,
                "released_by_staff_id": r.released_by_id,
                "reason": r.reason,
                "at": _time(r.at, tz),
            }
            for r in releases
        ],
        "signer": {
            "organisation": {
                "id": signer.organisation_id,
                "code": signer.code,
                "name": signer.name,
            },
            "algorithm": "Ed25519",
            "key_id": signer.key_id,
        },
    }


def _gaps(
    events: Sequence[RecordingEvent], segments: Sequence[RecordingSegment]
) -> list[dict[str, Any]]:
    """Stretches of the session clock with nothing recorded: GAP events (a crash and restart)
    and segments found missing."""
    gaps: list[dict[str, Any]] = []
    for event in events:
        if event.kind != RecordingEventKind.GAP:
            continue
        detail = _detail(event.detail)
        detail = detail if isinstance(detail, dict) else {}
        gaps.append(
            {
                "source": "event",
                "event_id": event.id,
                "track_id": detail.get("track_id"),
                "sub_room": event.sub_room,
                "from_ms": detail.get("from_ms", event.offset_ms),
                "to_ms": detail.get("to_ms"),
                "reason": detail.get("reason"),
            }
        )
    for segment in segments:
        if segment.status == SegmentStatus.MISSING:
            gaps.append(
                {
                    "source": "missing_segment",
                    "event_id": None,
                    "track_id": segment.track_id,
                    "sub_room": None,
                    "from_ms": segment.start_ms,
                    "to_ms": segment.end_ms,
                    "reason": "segment_missing",
                }
            )
    return gaps


def parse(body: bytes) -> dict[str, Any]:
    """A manifest read back from its canonical bytes; :class:`ManifestError` naming the first
    field that is missing or malformed, or if the bytes are not in canonical form."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"manifest is not UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ManifestError("manifest is not a JSON object")
    if canonical(document) != body:
        raise ManifestError("manifest is not in canonical form")
    if document.get("format") != FORMAT:
        raise ManifestError(f"manifest field format: expected {FORMAT!r}")
    for field, kind in (
        ("session", dict),
        ("tracks", list),
        ("segments", list),
        ("chain", dict),
        ("signer", dict),
    ):
        if not isinstance(document.get(field), kind):
            raise ManifestError(f"manifest field {field}: missing or malformed")
    for i, track in enumerate(document["tracks"]):
        if not (
            isinstance(track, dict)
            and isinstance(track.get("id"), int)
            and track.get("container") in ("webm", "mp4")
            and isinstance(track.get("sub_room"), str)
        ):
            raise ManifestError(f"manifest field tracks[{i}]: malformed")
    for i, seg in enumerate(document["segments"]):
        if not (
            isinstance(seg, dict)
            and isinstance(seg.get("track_id"), int)
            and isinstance(seg.get("index"), int)
            and isinstance(seg.get("start_ms"), int)
            and (seg.get("chain_index") is None or isinstance(seg.get("chain_index"), int))
        ):
            raise ManifestError(f"manifest field segments[{i}]: malformed")
    chain = document["chain"]
    if not (isinstance(chain.get("head"), str) and isinstance(chain.get("length"), int)):
        raise ManifestError("manifest field chain: malformed")
    if not isinstance(document["signer"].get("key_id"), str):
        raise ManifestError("manifest field signer.key_id: missing")
    return document
