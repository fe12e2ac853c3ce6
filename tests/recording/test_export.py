"""Evidence packages end to end, on both databases: started through the API, built by the
app's job runner with progress, downloaded by id, and the zip holds the original segments,
the signed manifest, the composite, the audit extract and the Chinese index; ``bilin verify``
passes on it. Caucus rooms stay out of the court's package; a sealed package is the centre's
and mediator's only; out of scope is 404."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import av
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from recording import package_layout as layout
from recording.verify import verify_package
from server.appkeys import SESSIONMAKER, SETTINGS
from server.db.audit import AuditEntry
from server.db.recording import CaucusRelease, RecordingSegment, RecordingTrack
from tests.recording.fabricate import RecordedSession, make_recorded_session
from tests.recording.test_composite import single_threaded_vp8  # noqa: F401 (autouse)
from tests.server.test_workflow import act_as, call
from tests.world import World, build_world

Client = TestClient  # type: ignore[type-arg]


async def _recorded(
    client: Client, *, caucus_seconds: float = 2.0
) -> tuple[World, RecordedSession]:
    settings = client.app[SETTINGS]
    async with client.app[SESSIONMAKER]() as db:
        world = await build_world(db)
        made = await make_recorded_session(
            db,
            world,
            settings.data_dir / "recordings",
            parties=3,
            seconds=4.0,
            segment_seconds=2.0,
            caucus_seconds=caucus_seconds,
        )
        await db.commit()
    return world, made


async def _finished(client: Client, job_id: int) -> dict[str, Any]:
    """Poll the job as the page does, until it is finished; the progress seen on the way."""
    seen: list[float] = []
    deadline = time.monotonic() + 60
    while True:
        status, job = await call(client, "GET", f"/api/jobs/{job_id}")
        assert status == 200, job
        seen.append(job["progress"])
        if job["finished"]:
            job["seen"] = seen
            return dict(job)
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def _export(
    client: Client, session_id: int, csrf: str, sealed: bool = False
) -> dict[str, Any]:
    status, body = await call(
        client, "POST", f"/api/recordings/{session_id}/exports", csrf, {"sealed": sealed}
    )
    assert status == 202, body
    job = await _finished(client, body["job"]["id"])
    assert job["status"] == "done", job
    assert job["seen"] == sorted(job["seen"]) and job["progress"] == 1.0
    status, export = await call(client, "GET", f"/api/exports/{body['id']}")
    assert status == 200 and export["ready"], export
    return dict(export)


async def test_court_package_verifies_and_holds_everything(client: Client, tmp_path: Path) -> None:
    _world, made = await _recorded(client)
    csrf = await act_as(client, "lz_court_clerk")
    export = await _export(client, made.session_id, csrf)
    response = await client.get(export["download_url"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    data = await response.read()
    path = tmp_path / "package.zip"
    path.write_bytes(data)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        for name in ("manifest.json", "manifest.sig", "signer.pem", "composite.mp4", "audit.json"):
            assert name in names, name
        assert "索引.html" in names and "说明.txt" in names
        readme = archive.read("说明.txt").decode("utf-8")
        index = archive.read("索引.html").decode("utf-8")
        audit = json.loads(archive.read("audit.json"))
        assert json.loads(archive.read(layout.WITHHELD))["sub_rooms"] == ["caucus-1"]
        composite = archive.read("composite.mp4")
    assert "bilin verify" in readme and "bilin verify" in index
    for seat in made.seats:
        assert seat.name in readme
    assert "背对背调解室 1" in readme  # named as withheld
    assert any(e["action"] == "export" for e in audit["entries"])

    async with client.app[SESSIONMAKER]() as db:
        tracks = {t.id: t for t in await db.scalars(select(RecordingTrack))}
        segments = list(await db.scalars(select(RecordingSegment)))
    main = [s for s in segments if tracks[s.track_id].sub_room == "main"]
    caucus = [s for s in segments if tracks[s.track_id].sub_room != "main"]
    store = made.store
    for segment in main:
        name = layout.segment_path(segment.track_id, segment.index, "webm")
        assert name in names
        with zipfile.ZipFile(path) as archive:
            assert archive.read(name) == store.path(segment.storage_key).read_bytes()
    for segment in caucus:  # sealed caucus room: not in the court's package
        assert layout.segment_path(segment.track_id, segment.index, "webm") not in names

    report = verify_package(path)
    assert report.ok, report.summary()

    # The composite plays the whole session with sound.
    (tmp_path / "composite.mp4").write_bytes(composite)
    with av.open(str(tmp_path / "composite.mp4")) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames / 15 - made.seconds) < 0.3

    # Tampering with one byte of a segment is caught, naming it.
    tampered = tmp_path / "tampered.zip"
    victim = layout.segment_path(main[0].track_id, main[0].index, "webm")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == victim:
                body = body[:-1] + bytes([body[-1] ^ 1])
            dst.writestr(item, body)
    bad = verify_package(tampered)
    assert not bad.ok and any(victim in p for p in bad.problems), bad.summary()

    # Requests and downloads are in the audit log.
    async with client.app[SESSIONMAKER]() as db:
        steps = [
            json.loads(e.detail)["step"]
            for e in await db.scalars(
                select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.seq)
            )
        ]
    assert steps == ["requested", "downloaded"]


async def test_released_caucus_is_included_and_sealed_is_centre_only(client: Client) -> None:
    world, made = await _recorded(client)
    async with client.app[SESSIONMAKER]() as db:
        db.add(
            CaucusRelease(
                session_id=made.session_id,
                sub_room="caucus-1",
                released_by_id=world.staff["lz_super"].id,
                reason="法院调取",
            )
        )
        await db.commit()
    judge = await act_as(client, "lz_judge")
    status, _ = await call(
        client, "POST", f"/api/recordings/{made.session_id}/exports", judge, {"sealed": True}
    )
    assert status == 403  # a sealed package is not the court's
    export = await _export(client, made.session_id, judge)
    response = await client.get(export["download_url"])
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        names = archive.namelist()
    assert layout.WITHHELD not in names
    assert any(n.startswith("tracks/") for n in names)

    mediator = await act_as(client, "lz_mediator")
    sealed = await _export(client, made.session_id, mediator, sealed=True)
    with zipfile.ZipFile(io.BytesIO(await (await client.get(sealed["download_url"])).read())) as z:
        assert "密封" in z.read("说明.txt").decode("utf-8")
    # The judge cannot see or fetch the sealed one: as if it did not exist.
    await act_as(client, "lz_judge")
    assert (await call(client, "GET", f"/api/exports/{sealed['id']}"))[0] == 404
    assert (await client.get(sealed["download_url"])).status == 404
    # Another county sees nothing at all.
    other = await act_as(client, "mq_super")
    assert (await call(client, "GET", f"/api/exports/{export['id']}"))[0] == 404
    assert (await client.get(export["download_url"])).status == 404
    assert (await call(client, "GET", f"/api/jobs/{export['job']['id']}"))[0] == 404
    status, _ = await call(client, "POST", f"/api/recordings/{made.session_id}/exports", other, {})
    assert status == 404
    for bad in (
        "/exports/../../etc/passwd/package",
        "/exports/99999/package",
        "/exports/1a/package",
    ):
        assert (await client.get(bad)).status == 404


async def test_export_page_shows_progress_bar_and_download(client: Client) -> None:
    _world, made = await _recorded(client, caucus_seconds=0)
    csrf = await act_as(client, "lz_mediator")
    page = await client.get(f"/recordings/{made.session_id}/export")
    text = await page.text()
    assert page.status == 200 and 'name="sealed"' in text and "/static/js/export.js" in text
    response = await client.post(
        f"/recordings/{made.session_id}/export", data={"_csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303
    text = await (await client.get(f"/recordings/{made.session_id}/export")).text()
    assert "data-job-id=" in text and "<progress" in text and 'aria-live="polite"' in text
    status, exports = 200, None
    async with client.app[SESSIONMAKER]() as db:
        from server.db.export import RecordingExport

        exports = list(await db.scalars(select(RecordingExport)))
    assert status == 200 and exports and exports[0].job_id is not None
    job = await _finished(client, exports[0].job_id)
    assert job["status"] == "done"
    text = await (await client.get(f"/recordings/{made.session_id}/export")).text()
    assert f"/exports/{exports[0].id}/package" in text and "data-finished" in text
    # The court clerk sees the page without the sealed option.
    await act_as(client, "lz_court_clerk")
    text = await (await client.get(f"/recordings/{made.session_id}/export")).text()
    assert 'name="sealed"' not in text
