"""Rate limits for anonymous actions, counted in the database (every process agrees)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import ThrottleHit
from server.db.base import utcnow
from server.errors import RateLimited
from server.settings import Settings


def visitor_key(settings: Settings, request: web.Request) -> str:
    """An HMAC of the visitor's address: enough to count, not enough to recover the address."""
    return hmac.new(
        settings.secret_key.encode(), (request.remote or "").encode(), hashlib.sha256
    ).hexdigest()


async def take(db: AsyncSession, bucket: str, key: str, limit: int, window_s: int) -> None:
    """Count one action for ``key`` in ``bucket``, or refuse with :class:`RateLimited` when
    ``limit`` actions were already counted within the window. The hit is saved with the
    request's transaction, so only actions that succeed count."""
    since = utcnow() - dt.timedelta(seconds=window_s)
    count = (
        await db.execute(
            select(func.count()).where(
                ThrottleHit.bucket == bucket, ThrottleHit.key_hash == key, ThrottleHit.at > since
            )
        )
    ).scalar_one()
    if count >= limit:
        raise RateLimited(minutes=max(1, window_s // 60))
    db.add(ThrottleHit(bucket=bucket, key_hash=key, at=utcnow()))


async def take_public_submission(
    db: AsyncSession, settings: Settings, request: web.Request
) -> None:
    """One online dispute from this visitor, within ``public_submissions_per_hour``."""
    await take(
        db,
        "public_submission",
        visitor_key(settings, request),
        settings.public_submissions_per_hour,
        3600,
    )
