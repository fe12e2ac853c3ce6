"""Which :class:`~recording.storage.RecordingStore` a process uses: files under
``<data dir>/recordings`` by default; with ``BILIN_S3_BUCKET`` set, an S3-compatible object
store behind the local spool.

Capture always writes into the spool (a killed process must leave playable files on disk).
With an object store, :class:`SpoolThenRemote` reads a key from the spool while the file is
still there and from the object store once it has moved; closed segments move by
``store.put(key, spool_path)`` (upload, then the spool copy is removed), done for every closed
segment still in the spool by :class:`Offloader` (so capture need not know about S3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recording.s3 import S3Store
from recording.storage import LocalStore, MissingObject, RecordingStore
from recording.vocabulary import SegmentStatus
from server.db.recording import RecordingSegment
from server.settings import Settings

logger = logging.getLogger(__name__)

OFFLOAD_INTERVAL_S = 30.0
OFFLOAD_BATCH = 200


def local_store(settings: Settings) -> LocalStore:
    """The data directory's store, which is also capture's spool."""
    return LocalStore(settings.data_dir / "recordings")


def s3_store(settings: Settings) -> S3Store:
    """The configured object store."""
    return S3Store(
        bucket=settings.s3_bucket,
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
    )


class SpoolThenRemote:
    """The spool for what is still in it, the object store for the rest."""

    def __init__(self, spool: LocalStore, remote: S3Store) -> None:
        self.spool = spool
        self.remote = remote

    def _local(self, key: str) -> bool:
        return self.spool.path(key).is_file()

    async def put(self, key: str, source: Path) -> None:
        """Upload ``source`` under ``key`` and remove it from the spool."""
        await self.remote.put(key, source)

    async def size(self, key: str) -> int:
        """Bytes under ``key``."""
        if self._local(key):
            with contextlib.suppress(MissingObject):
                return await self.spool.size(key)
        return await self.remote.size(key)

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end`` inclusive."""
        source: RecordingStore = self.spool if self._local(key) else self.remote
        async for chunk in source.read_range(key, start, end):
            yield chunk

    async def read(self, key: str) -> bytes:
        """All bytes under ``key``."""
        if self._local(key):
            with contextlib.suppress(MissingObject):
                return await self.spool.read(key)
        return await self.remote.read(key)

    async def sha256(self, key: str) -> str:
        """SHA-256 of the object."""
        if self._local(key):
            with contextlib.suppress(MissingObject):
                return await self.spool.sha256(key)
        return await self.remote.sha256(key)


def open_store(settings: Settings) -> RecordingStore:
    """The configured store (the spool in front of S3 when a bucket is configured)."""
    if settings.s3_bucket:
        return SpoolThenRemote(local_store(settings), s3_store(settings))
    return local_store(settings)


async def local_file(store: RecordingStore, key: str, scratch: Path) -> Path:
    """A local file with the object's bytes: the spool's file when it is there, else a copy
    downloaded into ``scratch`` (which the caller removes)."""
    if isinstance(store, LocalStore):
        return store.path(key)
    if isinstance(store, SpoolThenRemote) and store.spool.path(key).is_file():
        return store.spool.path(key)
    target = scratch / key
    remote = store.remote if isinstance(store, SpoolThenRemote) else store
    if isinstance(remote, S3Store):
        await remote.download(key, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(await remote.read(key))
    return target


async def offload_closed_segments(
    db: AsyncSession, store: SpoolThenRemote, *, limit: int = OFFLOAD_BATCH
) -> int:
    """Upload closed (and recovered) segments still in the spool; returns how many moved.
    Open segments stay: they are still being written, and recovery reads them there."""
    rows = await db.scalars(
        select(RecordingSegment)
        .where(
            RecordingSegment.status.in_((SegmentStatus.CLOSED, SegmentStatus.RECOVERED)),
            RecordingSegment.sha256.is_not(None),
        )
        .order_by(RecordingSegment.id)
    )
    moved = 0
    for segment in rows:
        path = store.spool.path(segment.storage_key)
        if not path.is_file():
            continue
        await store.put(segment.storage_key, path)
        moved += 1
        if moved >= limit:
            break
    return moved


class Offloader:
    """Moves closed segments from the spool to the object store every ``interval_s``
    (a task owned by the app: started with it, cancelled and awaited on stop)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: SpoolThenRemote,
        interval_s: float = OFFLOAD_INTERVAL_S,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.store = store
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._loop(), name="recording offloader")

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                async with self.sessionmaker() as db:
                    moved = await offload_closed_segments(db, self.store)
                if moved:
                    logger.info("moved %d closed segments to the object store", moved)
                    continue  # more may be waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("moving segments to the object store failed; will retry")
            await asyncio.sleep(self.interval_s)
