"""The S3 store against a real S3 server (moto's, started by the tests): round trip, ranges,
missing objects, multipart uploads, the spool copy removed, and ``open_store`` choosing it."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from recording import s3 as s3_module
from recording.s3 import S3Store
from recording.storage import LocalStore, MissingObject, segment_key
from recording.stores import local_file, open_store
from server.settings import Settings
from tests.s3_server import ACCESS_KEY, SECRET_KEY, s3_url  # noqa: F401 (fixture)


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
    assert isinstance(s3, S3Store) and s3.bucket == "evidence"
    from_env = Settings.from_env(
        {"BILIN_DATA_DIR": str(tmp_path), "BILIN_S3_BUCKET": "b2", "BILIN_S3_REGION": "cn-1"}
    )
    assert from_env.s3_bucket == "b2" and from_env.s3_region == "cn-1"
