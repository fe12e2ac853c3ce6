"""Sealing a recording session: its manifest signed with the handling centre's key, stored as
a ``recording_manifests`` row, time-stamped when a time-stamp authority is configured."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from recording import package_layout as layout
from recording.manifest import Signer, build_manifest, canonical, sha256_hex
from recording.storage import RecordingStore, segment_key
from recording.vocabulary import RecordingStatus
from server.db.case import Case
from server.db.recording import RecordingSession
from server.db.signing import RecordingManifest, TimestampStatus
from server.keys import signing_key
from server.settings import Settings

logger = logging.getLogger(__name__)


async def latest_manifest(db: AsyncSession, session_id: int) -> RecordingManifest | None:
    """The newest manifest version of a session, if it was sealed."""
    return await db.scalar(
        select(RecordingManifest)
        .where(RecordingManifest.session_id == session_id)
        .order_by(RecordingManifest.version.desc())
        .limit(1)
    )


async def seal_session(
    db: AsyncSession, settings: Settings, session_id: int, *, stamp: bool = True
) -> RecordingManifest:
    """Sign the session's manifest with its case's handling centre's key and store it
    (a session still recording or paused is refused with ValueError).

    Idempotent: when the newest stored version already says exactly what the database says,
    that version is returned; when the record changed since (a recovered gap, a caucus
    release), a new version is added. With ``settings.tsa_url`` set and ``stamp`` true, a
    time-stamp is requested at once (failure leaves it to the retry loop). The caller commits.
    """
    session = await db.get(RecordingSession, session_id)
    if session is None:
        raise LookupError(f"no recording session {session_id}")
    if session.status in (RecordingStatus.RECORDING, RecordingStatus.PAUSED):
        # Its open segments have no hash yet: a manifest now would list them as gaps.
        raise ValueError(f"recording session {session_id} is still {session.status}")
    case = await db.get(Case, session.case_id)
    assert case is not None
    key = await signing_key(db, settings, case.centre_id)
    signer = Signer(key.organisation_id, key.organisation_code, key.organisation_name, key.key_id)

    latest = await latest_manifest(db, session_id)
    version = latest.version if latest is not None else 1
    body = canonical(await build_manifest(db, session_id, signer, version, settings.timezone))
    if latest is not None and latest.body.encode("utf-8") == body:
        return latest
    if latest is not None:
        version = latest.version + 1
        body = canonical(await build_manifest(db, session_id, signer, version, settings.timezone))

    row = RecordingManifest(
        session_id=session_id,
        version=version,
        body=body.decode("utf-8"),
        sha256=sha256_hex(body),
        signature=base64.b64encode(key.sign(body)).decode("ascii"),
        key_id=key.key_id,
        timestamp_status=TimestampStatus.PENDING if settings.tsa_url else TimestampStatus.NONE,
    )
    try:
        async with db.begin_nested():
            db.add(row)
    except IntegrityError:
        # Another process sealed the same version at the same moment: theirs stands.
        other = await latest_manifest(db, session_id)
        if other is None:
            raise
        logger.info("session %s was sealed concurrently (version %s)", session_id, version)
        return other
    logger.info(
        "sealed recording session %s: manifest v%s sha256 %s, key %s",
        session_id,
        version,
        row.sha256[:16],
        key.key_id[:16],
    )
    if stamp and settings.tsa_url:
        from recording.timestamping import stamp_manifest

        await stamp_manifest(db, settings, row)
    return row


async def manifest_count(db: AsyncSession, session_id: int) -> int:
    """How many manifest versions a session has."""
    count = await db.scalar(select(func.count()).where(RecordingManifest.session_id == session_id))
    return int(count or 0)


async def seal_context(app: web.Application) -> AsyncIterator[None]:
    """App cleanup context (after the database): makes missing signing keys of centres and
    courts, and runs the time-stamp retry loop while the app runs."""
    from recording.timestamping import RetryLoop
    from server.appkeys import SESSIONMAKER, SETTINGS
    from server.keys import KeyUnavailable, ensure_keys

    settings = app[SETTINGS]
    async with app[SESSIONMAKER]() as db:
        try:
            made = await ensure_keys(db, settings)
        except KeyUnavailable:
            logger.exception("signing keys could not be made")
            made = 0
        if made:
            logger.info("made %d signing keys", made)
    loop = RetryLoop(app[SESSIONMAKER], settings)
    loop.start()
    try:
        yield
    finally:
        await loop.stop()


async def export_sealed(
    db: AsyncSession,
    settings: Settings,
    session_id: int,
    dest: Path,
    *,
    store: RecordingStore | None = None,
    withheld_sub_rooms: Sequence[str] = (),
    extra_files: Mapping[str, bytes] | None = None,
) -> RecordingManifest:
    """Write a verifiable package of a sealed session (see :mod:`recording.package_layout`)
    to ``dest``: a zip when it ends in ``.zip``, else a directory. The newest manifest is used
    (the session is sealed first if it never was); tracks of ``withheld_sub_rooms`` (sealed
    caucus rooms) are left out and named in ``withheld.json``; ``extra_files`` (composite,
    audit extract, index) are added as given."""
    from recording.stores import open_store
    from server.db.recording import RecordingTrack
    from server.db.signing import SigningKey

    manifest = await latest_manifest(db, session_id)
    if manifest is None:
        manifest = await seal_session(db, settings, session_id)
    key = await db.scalar(select(SigningKey).where(SigningKey.fingerprint == manifest.key_id))
    assert key is not None
    store = store if store is not None else open_store(settings)
    token = base64.b64decode(manifest.timestamp_token) if manifest.timestamp_token else None
    files = dict(
        layout.seal_files(manifest.body.encode("utf-8"), manifest.signature, key.public_pem, token)
    )
    withheld = set(withheld_sub_rooms) - {"main"}
    if withheld:
        files[layout.WITHHELD] = layout.withheld_json(withheld)
    files.update(extra_files or {})
    document = json.loads(manifest.body)
    tracks = {
        t.id: t
        for t in await db.scalars(
            select(RecordingTrack).where(RecordingTrack.session_id == session_id)
        )
    }
    segments: list[tuple[str, str]] = []
    for seg in document["segments"]:
        track = tracks[seg["track_id"]]
        if seg["sha256"] is None or track.sub_room in withheld:
            continue
        segments.append(
            (
                layout.segment_path(track.id, seg["index"], track.container),
                segment_key(session_id, track.id, seg["index"], track.container),
            )
        )
    writer = layout.PackageWriter(dest)
    try:
        for name, data in files.items():
            await asyncio.to_thread(writer.add, name, data)
        for name, key_name in segments:
            data = await store.read(key_name)
            await asyncio.to_thread(writer.add, name, data)
    finally:
        await asyncio.to_thread(writer.close)
    return manifest
