"""Login rate limiting, counted in the database so every process of a deployment agrees."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import LoginAttempt
from server.db.base import utcnow


async def recent_failures(db: AsyncSession, username: str, window_s: int) -> int:
    """Failed attempts for ``username`` within the window, since its last success."""
    since = utcnow() - dt.timedelta(seconds=window_s)
    last_success = (
        await db.execute(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.success.is_(True)
            )
        )
    ).scalar_one_or_none()
    if last_success is not None and last_success > since:
        since = last_success
    count = (
        await db.execute(
            select(func.count()).where(
                LoginAttempt.username == username,
                LoginAttempt.success.is_(False),
                LoginAttempt.at > since,
            )
        )
    ).scalar_one()
    return int(count)


async def record_attempt(db: AsyncSession, username: str, remote: str, success: bool) -> None:
    """Remember an attempt. The caller commits."""
    db.add(LoginAttempt(username=username[:64], remote=remote[:64], success=success))
