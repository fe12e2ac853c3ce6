"""Recording files in an S3-compatible object store (MinIO, Ceph, a cloud's S3), for
deployments that outgrow one disk. Same protocol as :class:`recording.storage.LocalStore`.

Capture still writes into the local spool; when a segment closes, ``store.put(key, spool_path)``
uploads it and removes the spool copy. Keys are the same as on disk (built from database ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from recording.storage import CHUNK, MissingObject, check_key

logger = logging.getLogger(__name__)

# Files above this are uploaded in parts (S3's single PUT tops out at 5 GB; parts also keep
# memory flat for a long composite or a package).
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Store:
    """Objects under ``<prefix><key>`` in one bucket."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "us-east-1",
        prefix: str = "recordings/",
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint or None
        self.access_key = access_key or None
        self.secret_key = secret_key or None
        self.region = region
        self.prefix = prefix
        self._session = get_session()
        self._config = AioConfig(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )

    def _client(self) -> Any:
        return self._session.create_client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=self._config,
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (first start, tests)."""
        async with self._client() as client:
            try:
                await client.head_bucket(Bucket=self.bucket)
            except ClientError:
                await client.create_bucket(Bucket=self.bucket)

    async def put(self, key: str, source: Path) -> None:
        """Upload ``source`` under ``key``, then remove the local (spool) copy."""
        name = self._name(key)
        size = (await asyncio.to_thread(source.stat)).st_size
        async with self._client() as client:
            if size <= MULTIPART_THRESHOLD:
                body = await asyncio.to_thread(source.read_bytes)
                await client.put_object(Bucket=self.bucket, Key=name, Body=body)
            else:
                await self._multipart(client, name, source)
        await asyncio.to_thread(source.unlink, missing_ok=True)

    async def _multipart(self, client: Any, name: str, source: Path) -> None:
        upload = await client.create_multipart_upload(Bucket=self.bucket, Key=name)
        upload_id = upload["UploadId"]
        parts = []
        try:
            with source.open("rb") as handle:
                number = 1
                while chunk := await asyncio.to_thread(handle.read, PART_SIZE):
                    answer = await client.upload_part(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    number += 1
            await client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id
                )
            raise

    async def size(self, key: str) -> int:
        """Bytes under ``key``."""
        async with self._client() as client:
            try:
                head = await client.head_object(Bucket=self.bucket, Key=self._name(key))
            except ClientError as exc:
                if _missing(exc):
                    raise MissingObject(key) from None
                raise
        return int(head["ContentLength"])

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start``..``end`` inclusive (one ranged GET, streamed)."""
        async with self._client() as client:
            try:
                answer = await client.get_object(
                    Bucket=self.bucket, Key=self._name(key), Range=f"bytes={start}-{end}"
                )
            except ClientError as exc:
                if _missing(exc):
                    raise MissingObject(key) from None
                raise
            async with answer["Body"] as body:
                while chunk := await body.read(CHUNK):
                    yield chunk

    async def _chunks(self, key: str) -> AsyncIterator[bytes]:
        async with self._client() as client:
            try:
                answer = await client.get_object(Bucket=self.bucket, Key=self._name(key))
            except ClientError as exc:
                if _missing(exc):
                    raise MissingObject(key) from None
                raise
            async with answer["Body"] as body:
                while chunk := await body.read(CHUNK):
                    yield chunk

    async def read(self, key: str) -> bytes:
        """All bytes under ``key``."""
        return b"".join([chunk async for chunk in self._chunks(key)])

    async def sha256(self, key: str) -> str:
        """SHA-256 of the object, streamed."""
        digest = hashlib.sha256()
        async for chunk in self._chunks(key):
            digest.update(chunk)
        return digest.hexdigest()

    async def download(self, key: str, target: Path) -> None:
        """Write the object to the local file ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            async for chunk in self._chunks(key):
                await asyncio.to_thread(handle.write, chunk)
