"""Logging in staff, with rate limiting; shared by the login page and ``POST /api/login``."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.passwords import verify_password
from server.auth.ratelimit import recent_failures, record_attempt
from server.auth.sessions import SESSION_COOKIE, open_session
from server.db import Staff
from server.errors import BilinError, RateLimited
from server.settings import Settings


class LoginFailed(BilinError):
    """Wrong username or password (the two are not told apart)."""

    status = 401
    key = "error.login_failed"


async def authenticate(
    db: AsyncSession, settings: Settings, username: str, password: str, remote: str
) -> Staff:
    """The active staff account for these credentials; every attempt is counted.

    Failed attempts are committed even though the request then fails, so the count survives
    the request's rollback.
    """
    if await recent_failures(db, username, settings.login_window_s) >= settings.login_max_failures:
        raise RateLimited(minutes=max(1, settings.login_window_s // 60))
    staff = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one_or_none()
    ok = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not ok or not staff.active:
        await record_attempt(db, username, remote, success=False)
        await db.commit()
        raise LoginFailed()
    await record_attempt(db, username, remote, success=True)
    return staff


async def start_staff_session(
    db: AsyncSession,
    settings: Settings,
    response: web.StreamResponse,
    staff: Staff,
    locale: str | None,
) -> str:
    """Open a session for ``staff``, set its cookie on ``response``; returns the CSRF token."""
    token, csrf = await open_session(
        db, max_age_s=settings.session_max_age_s, staff_id=staff.id, locale=locale
    )
    set_session_cookie(settings, response, token)
    return csrf


def set_session_cookie(settings: Settings, response: web.StreamResponse, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        path="/",
    )
