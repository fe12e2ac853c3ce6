"""The S3 store against a real S3 server (moto's, started by the tests): round trip, ranges,
missing objects, multipart uploads, the spool copy removed, and ``open_store`` choosing it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from recording import s3 as s3_module
from recording.s3 import S3Store
from recording.storage import LocalStore, MissingObject, segment_key
from recording.stores import SpoolThenRemote, local_file, offload_closed_segments, open_store
from recording.verify import verify_package
from server.app import create_app
from server.appkeys import SESSIONMAKER
from server.db.recording import RecordingSegment
from server.settings import Settings
from tests.recording.fabricate import make_recorded_session
from tests.recording.test_composite import single_threaded_vp8  # noqa: F401 (autouse)
from tests.s3_server import ACCESS_KEY, SECRET_KEY, s3_url  # noqa: F401 (fixture)
from tests.server.test_workflow import act_as, call
from tests.world import build_world


@pytest.fixture
async def store(s3_url: str) -> S3Store:  # noqa: F811
    bucket = f"bilin-{secrets.token_hex(4)}"
    result = S3Store(bucket=bucket, endpoint=s3_url, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    await result.ensure_bucket()
    return result


async def test_round_trip_ranges_and_missing(store: S3Store, tmp_path: Path) -> None:
    data = secrets.token_bytes(700_000)
    spool = tmp_path / "000000.webm"
    spool.write_bytes(data)
    key = segment_key(1, 2, 0, "webm")
    await store.put(key, spool)
    assert not spool.exists()  # the spool copy is gone once uploaded
    assert await store.size(key) == len(data)
    assert await store.read(key) == data
    assert await store.sha256(key) == hashlib.sha256(data).hexdigest()
    ranged = b"".join([c async for c in store.read_range(key, 1000, 299_999)])
    assert ranged == data[1000:300_000]
    tail = b"".join([c async for c in store.read_range(key, len(data) - 10, len(data) - 1)])
    assert tail == data[-10:]
    copy = await local_file(store, key, tmp_path / "scratch")
    assert copy.read_bytes() == data
    missing = segment_key(1, 2, 1, "webm")
    with pytest.raises(MissingObject):
        await store.size(missing)
    with pytest.raises(MissingObject):
        await store.read(missing)
    with pytest.raises(MissingObject):
        _ = [c async for c in store.read_range(missing, 0, 10)]
    with pytest.raises(ValueError):
        await store.size("../../etc/passwd")


async def test_large_files_go_up_in_parts(
    store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small thresholds so the test stays fast; S3 wants parts of 5 MB except the last.
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", 6 * 1024 * 1024)
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 * 1024 * 1024)
    data = secrets.token_bytes(11 * 1024 * 1024 + 5)
    source = tmp_path / "package.zip"
    source.write_bytes(data)
    await store.put("exports/1/package.zip", source)
    assert await store.size("exports/1/package.zip") == len(data)
    assert await store.sha256("exports/1/package.zip") == hashlib.sha256(data).hexdigest()


def test_open_store_picks_s3_only_when_configured(tmp_path: Path) -> None:
    local = open_store(Settings(environment="test", data_dir=tmp_path))
    assert isinstance(local, LocalStore) and local.root == tmp_path / "recordings"
    s3 = open_store(
        Settings(
            environment="test",
            data_dir=tmp_path,
            s3_endpoint="http://127.0.0.1:9000",
            s3_bucket="evidence",
            s3_access_key="a",
            s3_secret_key="b",
        )
    )
    assert isinstance(s3, SpoolThenRemote) and s3.remote.bucket == "evidence"
    assert s3.spool.root == tmp_path / "recordings"
    from_env = Settings.from_env(
        {"BILIN_DATA_DIR": str(tmp_path), "BILIN_S3_BUCKET": "b2", "BILIN_S3_REGION": "cn-1"}
    )
    assert from_env.s3_bucket == "b2" and from_env.s3_region == "cn-1"


@pytest.fixture
def backend() -> str:
    """Storage does not depend on the database: SQLite only (the export tests run both)."""
    return "sqlite"


async def test_recordings_move_to_s3_and_export_from_there(
    settings: Settings,
    s3_url: str,  # noqa: F811
    aiohttp_client: Any,
    tmp_path: Path,
) -> None:
    """A deployment on S3: closed segments leave the spool for the bucket, the review store
    reads them there, and an evidence package is built from and stored in the bucket."""
    settings = settings.with_changes(
        s3_endpoint=s3_url,
        s3_bucket=f"bilin-{secrets.token_hex(4)}",
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
    )
    store = open_store(settings)
    assert isinstance(store, SpoolThenRemote)
    await store.remote.ensure_bucket()
    client = await aiohttp_client(create_app(settings))
    async with client.app[SESSIONMAKER]() as db:
        world = await build_world(db)
        made = await make_recorded_session(
            db, world, settings.data_dir / "recordings", parties=2, seconds=4, segment_seconds=2
        )
        await db.commit()
        segments = list(await db.scalars(select(RecordingSegment)))
        spooled = {s.storage_key: store.spool.path(s.storage_key).read_bytes() for s in segments}
        assert await offload_closed_segments(db, store) == len(segments)
    for key, data in spooled.items():
        assert not store.spool.path(key).exists()  # moved
        assert await store.read(key) == data  # served from the bucket
        assert await store.remote.sha256(key) == hashlib.sha256(data).hexdigest()

    csrf = await act_as(client, "lz_court_clerk")
    status, body = await call(
        client, "POST", f"/api/recordings/{made.session_id}/exports", csrf, {}
    )
    assert status == 202, body
    deadline = time.monotonic() + 60
    while not body.get("ready"):
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)
        status, body = await call(client, "GET", f"/api/exports/{body['id']}")
        assert body["job"]["status"] != "failed", body
    assert not any((settings.data_dir / "recordings" / "exports").rglob("*.zip"))  # in S3
    response = await client.get(body["download_url"])
    assert response.status == 200
    package = tmp_path / "package.zip"
    package.write_bytes(await response.read())
    report = verify_package(package)
    assert report.ok, report.summary()
