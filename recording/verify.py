"""``bilin verify``: is a recording (an exported package, or a session in this deployment)
intact?

Checks, each failure named exactly:

- the signer's public key is the one the manifest names (fingerprint = ``signer.key_id``) and,
  against a database, the organisation's registered key;
- the Ed25519 signature over the manifest's exact bytes; the manifest's form and fields;
- every listed segment is present and its SHA-256 is the manifest's; no segment file is there
  that the manifest does not list (tracks of sealed caucus rooms may be withheld, see
  :mod:`recording.package_layout`);
- the hash chain recomputed from GENESIS in chain order, over the files' actual hashes: the
  first link that differs is named; the head and length are the manifest's;
- the RFC 3161 time-stamp token, when there is one, covers the manifest's SHA-256.

A document bundle (a directory or zip with ``document.json``) is handed to
``server.documents.verify.verify_document_bundle``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import importlib
import json
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from recording import package_layout as layout
from recording.chain import GENESIS, ChainEntry, link
from recording.manifest import ManifestError, canonical, parse, sha256_hex
from recording.storage import LocalStore, MissingObject, RecordingStore, segment_key
from recording.timestamping import TimestampError, check_token
from server.keys import pem_fingerprint, registered_key, verify_signature
from server.settings import Settings


@dataclass
class VerifyReport:
    """The outcome: ``problems`` (each one line naming what fails) and ``notes`` (what was
    checked and found, for the summary)."""

    subject: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Intact: nothing failed."""
        return not self.problems

    def summary(self) -> str:
        """Lines to print: the verdict in Chinese and English, then problems or notes."""
        if self.ok:
            head = f"完整无误 / INTACT: {self.subject}"
            return "\n".join([head, *(f"  {note}" for note in self.notes)])
        head = f"校验失败 / FAILED: {self.subject} ({len(self.problems)} problems)"
        return "\n".join(
            [head, *(f"  {p}" for p in self.problems), *(f"  note: {n}" for n in self.notes)]
        )


# A segment's actual SHA-256 by package path (None: missing).
HashLookup = Callable[[str], str | None]


def check_manifest(
    report: VerifyReport,
    body: bytes,
    signature_b64: str,
    signer_pem: str,
    token_der: bytes | None,
    file_sha256: HashLookup,
    present: set[str] | None,
    withheld: set[str],
) -> dict[str, Any] | None:
    """Run every check on a manifest and its files, adding to ``report``. ``present``: the
    segment files there (None: the store cannot list, extras are not checked). Returns the
    parsed manifest (None if unreadable)."""
    try:
        manifest = parse(body)
    except ManifestError as exc:
        report.problems.append(str(exc))
        manifest = None
    # The key.
    try:
        signer_id = pem_fingerprint(signer_pem)
    except ValueError:
        report.problems.append("signer key: not an Ed25519 public key")
        signer_id = ""
    named = manifest["signer"]["key_id"] if manifest else None
    if manifest is not None and signer_id and signer_id != named:
        report.problems.append(
            f"signer key: fingerprint {signer_id[:16]}… is not the manifest's signer "
            f"{str(named)[:16]}…"
        )
    # The signature.
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if signer_id and not verify_signature(signer_pem, body, signature):
        report.problems.append("manifest signature invalid")
    elif signer_id:
        report.notes.append(f"signature: Ed25519, key {signer_id[:16]}… (签名有效 / valid)")
    if manifest is None:
        return None
    if manifest.get("signer", {}).get("organisation"):
        org = manifest["signer"]["organisation"]
        report.notes.append(f"signed by {org.get('name')} ({org.get('code')})")

    _check_segments(report, manifest, file_sha256, present, withheld)
    _check_timestamp(report, body, token_der)
    return manifest


def _check_segments(
    report: VerifyReport,
    manifest: dict[str, Any],
    file_sha256: HashLookup,
    present: set[str] | None,
    withheld: set[str],
) -> None:
    tracks = {t["id"]: t for t in manifest["tracks"]}
    session_id = manifest["session"].get("id")
    listed: set[str] = set()
    actual: dict[str, str | None] = {}
    skipped = 0
    for i, seg in enumerate(manifest["segments"]):
        track = tracks.get(seg["track_id"])
        if track is None:
            report.problems.append(f"manifest field segments[{i}].track_id: unknown track")
            continue
        path = layout.segment_path(seg["track_id"], seg["index"], track["container"])
        if seg.get("file") not in (None, path):
            report.problems.append(f"manifest field segments[{i}].file: expected {path}")
        listed.add(path)
        if seg.get("sha256") is None:
            continue  # nothing readable was left of it: a gap, not evidence
        if track["sub_room"] != "main" and track["sub_room"] in withheld:
            skipped += 1
            continue
        sha = file_sha256(path)
        actual[path] = sha
        if sha is None:
            report.problems.append(f"segment {path}: missing")
        elif sha != seg["sha256"]:
            report.problems.append(f"segment {path}: SHA-256 mismatch")
    released = {
        r.get("sub_room") for r in manifest.get("caucus_releases") or [] if isinstance(r, dict)
    }
    for room in sorted(withheld & released):
        report.problems.append(
            f"withheld.json: {room} is withheld, but the manifest says it was released to the court"
        )
    if present is None:
        report.notes.append("segments: extra files not checked (the store cannot list)")
    else:
        for path in sorted(present - listed):
            report.problems.append(f"segment {path}: not in the manifest (extra file)")
    checked = sum(1 for sha in actual.values() if sha is not None)
    report.notes.append(f"segments: {checked} files checked (SHA-256)")
    if skipped:
        report.notes.append(
            f"segments: {skipped} of sealed caucus rooms withheld ({', '.join(sorted(withheld))})"
        )

    # The chain, in chain order, over what the files actually hold.
    chained = sorted(
        (s for s in manifest["segments"] if s.get("chain_index") is not None),
        key=lambda s: s["chain_index"],
    )
    head = GENESIS
    broken = False
    for position, seg in enumerate(chained):
        track = tracks.get(seg["track_id"])
        if track is None:
            broken = True
            break
        path = layout.segment_path(seg["track_id"], seg["index"], track["container"])
        if seg["chain_index"] != position:
            report.problems.append(
                f"chain broken at index {position} ({path}): chain index {seg['chain_index']}"
            )
            broken = True
            break
        sha = actual.get(path) or seg.get("sha256") or ""
        head = link(
            head,
            ChainEntry(
                session_id=int(session_id or 0),
                chain_index=position,
                track_id=seg["track_id"],
                segment_index=seg["index"],
                start_ms=seg["start_ms"],
                end_ms=seg["end_ms"] if seg.get("end_ms") is not None else seg["start_ms"],
                sha256=sha,
            ),
        )
        if head != seg.get("chain_hash"):
            report.problems.append(f"chain broken at index {position} ({path})")
            broken = True
            break
    chain = manifest["chain"]
    if not broken:
        if chain["length"] != len(chained):
            report.problems.append(
                f"manifest field chain.length: {chain['length']}, but {len(chained)} links"
            )
        elif chain["head"] != (head if chained else chain["head"]):
            report.problems.append("manifest field chain.head: not the last link")
        else:
            report.notes.append(f"chain: {len(chained)} links from GENESIS, head {head[:16]}…")


def _check_timestamp(report: VerifyReport, body: bytes, token_der: bytes | None) -> None:
    if token_der is None:
        report.notes.append("time-stamp: none (未加盖时间戳)")
        return
    try:
        info = check_token(token_der, hashlib.sha256(body).digest())
    except TimestampError as exc:
        report.problems.append(f"time-stamp: {exc}")
        return
    report.notes.append(
        f"time-stamp: {info.gen_time.isoformat()} by {info.tsa_subject} (serial "
        f"{info.serial_number})"
    )


def is_document_bundle(path: Path) -> bool:
    """Whether ``path`` is a signed document bundle (it holds ``document.json``)."""
    if path.is_dir():
        return (path / "document.json").is_file()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return "document.json" in archive.namelist()
    return False


def verify_document(path: Path) -> VerifyReport:
    """Hand a document bundle to ``server.documents.verify`` and translate its answer."""
    report = VerifyReport(subject=f"document bundle {path}")
    try:
        module = importlib.import_module("server.documents.verify")
    except ModuleNotFoundError:
        report.problems.append(
            "document bundles cannot be verified: server.documents.verify missing"
        )
        return report
    result = module.verify_document_bundle(path)
    problems = list(getattr(result, "problems", []) or [])
    if not getattr(result, "ok", not problems) and not problems:
        problems = ["document bundle does not verify"]
    report.problems.extend(str(p) for p in problems)
    report.notes.extend(str(n) for n in getattr(result, "notes", []) or [])
    if hasattr(result, "summary") and callable(result.summary) and not report.notes:
        report.notes.append(str(result.summary()))
    return report


def verify_package(path: Path) -> VerifyReport:
    """Verify an exported package (zip or directory). Registration of the signer's key is
    checked separately (:func:`check_registered`) when a database is at hand."""
    if is_document_bundle(path):
        return verify_document(path)
    report = VerifyReport(subject=str(path))
    if not path.exists():
        report.problems.append(f"{path}: no such file or directory")
        return report
    try:
        reader = layout.PackageReader(path)
    except zipfile.BadZipFile:
        report.problems.append(f"{path}: not a zip file or directory")
        return report
    with reader:
        names = set(reader.names())
        needed = (layout.MANIFEST, layout.SIGNATURE, layout.SIGNER)
        for name in needed:
            if name not in names:
                report.problems.append(f"{name}: missing")
        if report.problems:
            return report
        withheld: set[str] = set()
        if layout.WITHHELD in names:
            try:
                rooms = json.loads(reader.read(layout.WITHHELD))["sub_rooms"]
                withheld = {str(r) for r in rooms} - {"main"}
            except (ValueError, KeyError, TypeError):
                report.problems.append(f"{layout.WITHHELD}: malformed")
        present = {n for n in names if n.startswith(layout.TRACKS_DIR + "/")}

        def file_sha256(name: str) -> str | None:
            if name not in names:
                return None
            h = hashlib.sha256()
            for chunk in reader.chunks(name):
                h.update(chunk)
            return h.hexdigest()

        check_manifest(
            report,
            reader.read(layout.MANIFEST),
            reader.read(layout.SIGNATURE).decode("ascii", "replace"),
            reader.read(layout.SIGNER).decode("ascii", "replace"),
            reader.read(layout.TIMESTAMP) if layout.TIMESTAMP in names else None,
            file_sha256,
            present,
            withheld,
        )
    return report


async def check_registered(db: AsyncSession, report: VerifyReport, key_id: str, code: str) -> None:
    """Add a problem unless ``key_id`` is the registered key of organisation ``code``."""
    key = await registered_key(db, key_id)
    if key is None:
        report.problems.append(f"signer key {key_id[:16]}… is not registered in this Bilin")
    elif key.code != code:
        report.problems.append(
            f"signer key {key_id[:16]}… is registered to {key.code}, not to {code}"
        )
    else:
        report.notes.append(f"signer key registered to {key.name} ({key.code})")


def manifest_signer(path: Path) -> tuple[str, str] | None:
    """``(key_id, organisation code)`` named by a package's manifest, if readable."""
    try:
        with layout.PackageReader(path) as reader:
            document = json.loads(reader.read(layout.MANIFEST))
        signer = document["signer"]
        return str(signer["key_id"]), str(signer["organisation"]["code"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None


async def verify_session(
    db: AsyncSession, settings: Settings, session_id: int, store: RecordingStore | None = None
) -> VerifyReport:
    """Verify a session of this deployment: its newest stored manifest, signed by the
    organisation's registered key, against the files in storage; and that the database still
    says what the manifest says."""
    from sqlalchemy import select

    from recording.seal import latest_manifest
    from server.db.signing import SigningKey

    report = VerifyReport(subject=f"recording session {session_id}")
    row = await latest_manifest(db, session_id)
    if row is None:
        report.problems.append(f"recording session {session_id}: not sealed (no manifest)")
        return report
    report.subject = f"recording session {session_id}, manifest v{row.version}"
    key = await db.scalar(select(SigningKey).where(SigningKey.fingerprint == row.key_id))
    if key is None:
        report.problems.append(f"signer key {row.key_id[:16]}… is not registered in this Bilin")
        return report
    if store is None:
        from recording.stores import open_store

        store = open_store(settings)
    body = row.body.encode("utf-8")
    if sha256_hex(body) != row.sha256:
        report.problems.append("manifest sha256 column does not match its body")
    keys: dict[str, str] = {}
    try:
        document = json.loads(body)
        containers = {t["id"]: t["container"] for t in document.get("tracks", [])}
        for seg in document.get("segments", []):
            path = layout.segment_path(seg["track_id"], seg["index"], containers[seg["track_id"]])
            keys[path] = segment_key(
                session_id, seg["track_id"], seg["index"], containers[seg["track_id"]]
            )
    except (ValueError, KeyError, TypeError):
        pass
    hashes: dict[str, str | None] = {}
    for path, key_name in keys.items():
        try:
            hashes[path] = await store.sha256(key_name)
        except MissingObject:
            hashes[path] = None
    present: set[str] | None = None
    if isinstance(store, LocalStore):
        root = store.root / "sessions" / str(session_id)
        present = (
            {p.relative_to(root).as_posix() for p in (root / "tracks").rglob("*") if p.is_file()}
            if (root / "tracks").is_dir()
            else set()
        )
    token = base64.b64decode(row.timestamp_token) if row.timestamp_token else None
    manifest = check_manifest(
        report, body, row.signature, key.public_pem, token, hashes.get, present, set()
    )
    if manifest is not None:
        org = manifest["signer"]["organisation"]
        await check_registered(db, report, row.key_id, str(org.get("code")))
        await _compare_with_database(db, settings, report, manifest, row.key_id)
    return report


async def _compare_with_database(
    db: AsyncSession, settings: Settings, report: VerifyReport, manifest: dict[str, Any], key: str
) -> None:
    """Whether the database still says what the signed manifest says (first differing field)."""
    from recording.manifest import Signer, build_manifest

    org = manifest["signer"]["organisation"]
    signer = Signer(int(org["id"]), str(org["code"]), str(org["name"]), key)
    current = await build_manifest(
        db, int(manifest["session"]["id"]), signer, int(manifest["version"]), settings.timezone
    )
    current = json.loads(canonical(current))
    for name in sorted(set(current) | set(manifest)):
        if current.get(name) != manifest.get(name):
            report.problems.append(
                f"manifest field {name}: the database no longer says what the manifest says"
            )
            return
    report.notes.append("database rows match the manifest")


def run(settings: Settings, target: str, *, check_database: bool = False) -> int:
    """``bilin verify TARGET``: a package path or a session id. Prints the summary; 0 when
    intact, 1 otherwise."""
    path = Path(target)
    session_id = (
        int(target) if target.isascii() and target.isdigit() and not path.exists() else None
    )
    report = asyncio.run(_run(settings, path, session_id, check_database))
    stream = sys.stdout if report.ok else sys.stderr
    print(report.summary(), file=stream, flush=True)
    return 0 if report.ok else 1


async def _run(
    settings: Settings, path: Path, session_id: int | None, check_database: bool
) -> VerifyReport:
    from server.db.engine import create_engine, create_sessionmaker

    report: VerifyReport | None = None
    if session_id is None:
        report = await asyncio.to_thread(verify_package, path)
        if not check_database or report.subject.startswith("document bundle"):
            return report
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            if session_id is not None:
                return await verify_session(db, settings, session_id)
            assert report is not None
            signer = manifest_signer(path)
            if signer is not None:
                await check_registered(db, report, *signer)
            return report
    finally:
        await engine.dispose()
