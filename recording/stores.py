"""Which :class:`~recording.storage.RecordingStore` a process uses: an S3-compatible object
store when ``BILIN_S3_BUCKET`` is set, else files under ``<data dir>/recordings``."""

from __future__ import annotations

from pathlib import Path

from recording.s3 import S3Store
from recording.storage import LocalStore, RecordingStore
from server.settings import Settings


def local_store(settings: Settings) -> LocalStore:
    """The data directory's store, which is also capture's spool."""
    return LocalStore(settings.data_dir / "recordings")


def open_store(settings: Settings) -> RecordingStore:
    """The configured store (S3 when a bucket is configured)."""
    if settings.s3_bucket:
        return S3Store(
            bucket=settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
        )
    return local_store(settings)


async def local_file(store: RecordingStore, key: str, scratch: Path) -> Path:
    """A local file with the object's bytes: the file itself for a local store, else a copy
    downloaded into ``scratch`` (which the caller removes)."""
    if isinstance(store, LocalStore):
        return store.path(key)
    target = scratch / key
    if isinstance(store, S3Store):
        await store.download(key, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(await store.read(key))
    return target
