"""``bilin verify``: an intact package passes; every kind of tampering fails naming exactly the
segment, link or field that fails. Packages are made from real recorded WebM files."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from recording import package_layout as layout
from recording.manifest import canonical
from recording.seal import export_sealed, seal_session
from recording.verify import (
    check_registered,
    is_document_bundle,
    manifest_signer,
    verify_package,
    verify_session,
)
from server.db import CaucusRelease
from server.db.hearing import HearingParticipant
from server.keys import fingerprint
from server.settings import Settings
from tests.recording.fabricate import make_recorded_session
from tests.world import World

BILIN = Path(sys.executable).parent / "bilin"


@dataclass
class Package:
    """A sealed session exported as a directory package."""

    path: Path
    session_id: int
    manifest: dict[str, Any]

    def segments_in_chain_order(self) -> list[dict[str, Any]]:
        return sorted(self.manifest["segments"], key=lambda s: s["chain_index"])


async def _package(
    db: AsyncSession, world: World, settings: Settings, dest: Path, **kwargs: Any
) -> Package:
    made = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=2,
        seconds=kwargs.pop("seconds", 3),
        segment_seconds=1,
        **kwargs,
    )
    await db.commit()
    await seal_session(db, settings, made.session_id)
    await db.commit()
    row = await export_sealed(db, settings, made.session_id, dest)
    await db.commit()
    return Package(dest, made.session_id, json.loads(row.body))


async def test_intact_package_verifies(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    package = await _package(db, world, settings, tmp_path / "pkg")
    report = verify_package(package.path)
    assert report.ok, report.problems
    assert any(n.startswith("chain: ") for n in report.notes)
    # The layout: manifest bytes as signed, signature, signer key, one file per segment.
    assert (package.path / layout.MANIFEST).read_bytes() == canonical(package.manifest)
    assert (package.path / layout.SIGNER).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    tracks_dir = package.path / layout.TRACKS_DIR
    assert len([p for p in tracks_dir.rglob("*") if p.is_file()]) == len(
        package.manifest["segments"]
    )
    signer = manifest_signer(package.path)
    assert signer is not None
    await check_registered(db, report, *signer)
    assert report.ok, report.problems


async def test_tampering_is_named(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    package = await _package(db, world, settings, tmp_path / "pkg")
    chain = package.segments_in_chain_order()
    assert len(chain) >= 6

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(package.path, target)
        return target

    # One flipped byte in the middle of a segment.
    flipped = copy("flipped")
    victim = chain[3]
    path = flipped / victim["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_package(flipped)
    assert not report.ok
    assert f"segment {victim['file']}: SHA-256 mismatch" in report.problems
    assert f"chain broken at index 3 ({victim['file']})" in report.problems
    assert len(report.problems) == 2, report.problems

    # A deleted segment.
    deleted = copy("deleted")
    (deleted / chain[4]["file"]).unlink()
    report = verify_package(deleted)
    assert report.problems == [f"segment {chain[4]['file']}: missing"]

    # Two segments' contents exchanged: the first link after the swap breaks.
    swapped = copy("swapped")
    a, b = swapped / chain[2]["file"], swapped / chain[5]["file"]
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    report = verify_package(swapped)
    assert f"chain broken at index 2 ({chain[2]['file']})" in report.problems
    assert f"segment {chain[2]['file']}: SHA-256 mismatch" in report.problems
    assert f"segment {chain[5]['file']}: SHA-256 mismatch" in report.problems

    # A segment file the manifest does not list.
    extra = copy("extra")
    stray = extra / layout.segment_path(chain[0]["track_id"], 99, "webm")
    stray.write_bytes(b"\x1aE\xdf\xa3 not evidence")
    report = verify_package(extra)
    assert report.problems == [
        f"segment {layout.segment_path(chain[0]['track_id'], 99, 'webm')}: "
        "not in the manifest (extra file)"
    ]

    # Files verify ignores.
    (extra / "composite.mp4").write_bytes(b"whatever")
    stray.unlink()
    assert verify_package(extra).ok


async def test_edited_manifest_and_wrong_signer_fail(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    package = await _package(db, world, settings, tmp_path / "pkg")

    # A participant's name edited in the manifest, kept in canonical form.
    edited = tmp_path / "edited"
    shutil.copytree(package.path, edited)
    document = json.loads((edited / layout.MANIFEST).read_bytes())
    document["participants"][1]["name"] = "张四"
    (edited / layout.MANIFEST).write_bytes(canonical(document))
    report = verify_package(edited)
    assert report.problems == ["manifest signature invalid"]

    # Whitespace added: no longer the signed bytes, and not canonical either.
    spaced = tmp_path / "spaced"
    shutil.copytree(package.path, spaced)
    (spaced / layout.MANIFEST).write_bytes(
        json.dumps(package.manifest, ensure_ascii=False, sort_keys=True, indent=1).encode()
    )
    report = verify_package(spaced)
    assert "manifest is not in canonical form" in report.problems
    assert "manifest signature invalid" in report.problems

    # Another key's signer.pem: not the manifest's signer, and the signature fails.
    other = Ed25519PrivateKey.generate()
    other_pem = (
        other.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    wrong = tmp_path / "wrong"
    shutil.copytree(package.path, wrong)
    (wrong / layout.SIGNER).write_text(other_pem)
    report = verify_package(wrong)
    assert any(p.startswith("signer key: fingerprint") for p in report.problems), report.problems
    assert "manifest signature invalid" in report.problems

    # A forger re-signs an edited manifest with their own key and names it as the signer: the
    # package is self-consistent, but the key is not the centre's registered key.
    forged = tmp_path / "forged"
    shutil.copytree(package.path, forged)
    document = json.loads((forged / layout.MANIFEST).read_bytes())
    document["participants"][1]["name"] = "张四"
    document["signer"]["key_id"] = fingerprint(other.public_key())
    body = canonical(document)
    (forged / layout.MANIFEST).write_bytes(body)
    (forged / layout.SIGNATURE).write_text(base64.b64encode(other.sign(body)).decode())
    (forged / layout.SIGNER).write_text(other_pem)
    report = verify_package(forged)
    assert report.ok
    signer = manifest_signer(forged)
    assert signer is not None
    await check_registered(db, report, *signer)
    assert report.problems == [
        f"signer key {fingerprint(other.public_key())[:16]}… is not registered in this Bilin"
    ]


async def test_withheld_caucus_room_and_zip(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    made = await make_recorded_session(
        db,
        world,
        settings.data_dir / "recordings",
        parties=2,
        seconds=2,
        caucus_seconds=2,
        segment_seconds=1,
    )
    await db.commit()
    zipped = tmp_path / "evidence.zip"
    await export_sealed(
        db,
        settings,
        made.session_id,
        zipped,
        withheld_sub_rooms=["caucus-1"],
        extra_files={"索引.html": "<h1>证据包</h1>".encode()},
    )
    await db.commit()
    report = verify_package(zipped)
    assert report.ok, report.problems
    assert any("sealed caucus rooms withheld (caucus-1)" in n for n in report.notes)

    # Claiming the main room is withheld does not excuse missing main-room files.
    directory = tmp_path / "dir"
    await export_sealed(db, settings, made.session_id, directory, withheld_sub_rooms=["caucus-1"])
    (directory / layout.WITHHELD).write_text(json.dumps({"sub_rooms": ["main", "caucus-1"]}))
    main_file = next(p for p in (directory / layout.TRACKS_DIR).rglob("*.webm") if p.is_file())
    main_file.unlink()
    report = verify_package(directory)
    assert report.problems == [f"segment {main_file.relative_to(directory).as_posix()}: missing"]

    # Once released to the court, a caucus room can no longer be withheld from its package.
    db.add(
        CaucusRelease(
            session_id=made.session_id,
            sub_room="caucus-1",
            released_by_id=world.staff["lz_mediator"].id,
            reason="当事人同意",
        )
    )
    await db.commit()
    await seal_session(db, settings, made.session_id)
    await db.commit()
    released = tmp_path / "released"
    await export_sealed(db, settings, made.session_id, released, withheld_sub_rooms=["caucus-1"])
    report = verify_package(released)
    assert report.problems == [
        "withheld.json: caucus-1 is withheld, but the manifest says it was released to the court"
    ]
    full = tmp_path / "full"
    await export_sealed(db, settings, made.session_id, full)
    assert verify_package(full).ok


def test_document_bundles_go_to_the_documents_verifier(tmp_path: Path) -> None:
    bundle = tmp_path / "agreement"
    bundle.mkdir()
    (bundle / "document.json").write_text("{}")
    assert is_document_bundle(bundle)
    report = verify_package(bundle)
    assert report.subject.startswith("document bundle")
    assert not report.ok  # an empty document.json is nothing signed


async def test_session_verified_from_database_and_storage(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    package = await _package(db, world, settings, tmp_path / "pkg")
    report = await verify_session(db, settings, package.session_id)
    assert report.ok, report.problems
    assert "database rows match the manifest" in report.notes

    # A stored file altered after sealing.
    victim = package.segments_in_chain_order()[1]
    stored = settings.data_dir / "recordings" / f"sessions/{package.session_id}" / victim["file"]
    original = stored.read_bytes()
    stored.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    report = await verify_session(db, settings, package.session_id)
    assert f"segment {victim['file']}: SHA-256 mismatch" in report.problems
    stored.write_bytes(original)

    # A participant's name changed in the database after sealing.
    participant = await db.get(HearingParticipant, package.manifest["participants"][1]["id"])
    assert participant is not None
    participant.name = "李某"
    await db.commit()
    report = await verify_session(db, settings, package.session_id)
    assert report.problems == [
        "manifest field participants: the database no longer says what the manifest says"
    ]

    missing = await verify_session(db, settings, 999_999)
    assert missing.problems == ["recording session 999999: not sealed (no manifest)"]


def _bilin(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BILIN_ENV": "test",
        "BILIN_DATA_DIR": str(settings.data_dir),
        "BILIN_DATABASE_URL": settings.database_url,
    }
    return subprocess.run(
        [str(BILIN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_cli_exit_codes(
    db: AsyncSession, world: World, settings: Settings, tmp_path: Path
) -> None:
    package = await _package(db, world, settings, tmp_path / "pkg.zip")
    intact = _bilin(settings, "verify", str(package.path), "--db")
    assert intact.returncode == 0, intact.stderr
    assert "完整无误 / INTACT" in intact.stdout
    assert "signer key registered to 凉州区综治中心 (620602)" in intact.stdout

    victim = package.segments_in_chain_order()[0]
    stored = settings.data_dir / "recordings" / f"sessions/{package.session_id}" / victim["file"]
    stored.unlink()
    broken = _bilin(settings, "verify", str(package.session_id))
    assert broken.returncode == 1
    assert "校验失败 / FAILED" in broken.stderr
    assert f"segment {victim['file']}: missing" in broken.stderr

    pem = _bilin(settings, "keys", "export", "620602")
    assert pem.returncode == 0 and pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    with layout.PackageReader(package.path) as reader:
        assert pem.stdout == reader.read(layout.SIGNER).decode()
    assert verify_package(tmp_path / "no-such.zip").problems == [
        f"{tmp_path / 'no-such.zip'}: no such file or directory"
    ]
