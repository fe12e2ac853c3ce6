"""Where recording files live: the data directory by default, an S3-compatible object store
as an option (``recording.s3``). Keys are built from database ids only.

Capture always writes into the local spool (:class:`LocalStore`'s directory): a segment is
written and flushed there while it records, so a killed process leaves a playable file. When
an object store is configured, closed segments are uploaded and the spool copy removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[a-z]+(/[a-z0-9_-]+)*/[0-9a-z_-]+(\.[a-z0-9]+)?$")
CHUNK = 256 * 1024


class MissingObject(LookupError):
    """No object under that key."""


def segment_key(session_id: int, track_id: int, index: int, container: str) -> str:
    """The key of a segment file: ``sessions/<id>/tracks/<id>/<index>.<webm|mp4>``."""
    if container not in ("webm", "mp4"):
        raise ValueError(f"unknown container {container!r}")
    return f"sessions/{session_id}/tracks/{track_id}/{index:06d}.{container}"


def check_key(key: str) -> str:
    """``key`` if it is one Bilin could have made (never ``..``, never absolute)."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class RecordingStore(Protocol):
    """An object store for recording files."""

    async def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` (the spool copy may be removed)."""
        ...

    async def size(self, key: str) -> int:
        """Bytes under ``key``; :class:`MissingObject` if none."""
        ...

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""
        ...

    async def read(self, key: str) -> bytes:
        """All bytes under ``key``."""
        ...

    async def sha256(self, key: str) -> str:
        """SHA-256 of the object, hex."""
        ...


class LocalStore:
    """Files under ``<data dir>/recordings``: the spool, and the store when no object store
    is configured."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file for ``key`` (directories are not created)."""
        return self.root / check_key(key)

    async def put(self, key: str, source: Path) -> None:
        """Move ``source`` to ``key``'s path unless it is already there."""
        target = self.path(key)

        def move() -> None:
            if source.resolve() == target.resolve():
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)

        await asyncio.to_thread(move)

    async def size(self, key: str) -> int:
        """Bytes of the file."""
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            raise MissingObject(key) from None

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end`` inclusive."""
        path = self.path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise MissingObject(key) from None
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def read(self, key: str) -> bytes:
        """All bytes of the file."""
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except FileNotFoundError:
            raise MissingObject(key) from None

    async def sha256(self, key: str) -> str:
        """SHA-256 of the file."""

        def digest() -> str:
            h = hashlib.sha256()
            with self.path(key).open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    h.update(chunk)
            return h.hexdigest()

        try:
            return await asyncio.to_thread(digest)
        except FileNotFoundError:
            raise MissingObject(key) from None
