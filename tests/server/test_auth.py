"""Logging in and out: the session cookie, the stored session, rate limiting, disabled accounts,
and the security headers on pages and the API."""

from __future__ import annotations

import datetime as dt
import hashlib
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import ClientResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.auth.sessions import SESSION_COOKIE
from server.settings import Settings
from tests.server.test_workflow import Client, call, execute, scalar
from tests.world import PASSWORD, World, login


def session_cookie(response: ClientResponse) -> Any:
    """The Set-Cookie morsel of the session cookie."""
    cookies = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookies.load(header)
    return cookies[SESSION_COOKIE]


async def try_login(client: Client, username: str, password: str, **headers: str) -> Any:
    """POST /api/login; returns ``(status, body)``."""
    return await call(
        client, "POST", "/api/login", None, {"username": username, "password": password}, **headers
    )


def assert_security_headers(response: ClientResponse) -> None:
    """What every page and API answer carries."""
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'"):
        assert directive in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_login_sets_a_protected_session_cookie(
    client: Client, world: World, db: AsyncSession
) -> None:
    response = await client.post("/api/login", json={"username": "lz_clerk", "password": PASSWORD})
    assert response.status == 200
    body = await response.json()
    assert body["me"]["username"] == "lz_clerk"
    assert body["me"]["role"] == "intake_clerk"
    assert body["me"]["org_code"] == "620602"
    assert len(body["csrf_token"]) >= 24
    cookie = session_cookie(response)
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == 12 * 3600
    assert not cookie["secure"]  # plain HTTP in tests; see the next test
    # Only the token's hash is stored: the cookie value appears nowhere in the table.
    token = cookie.value
    rows = (await db.execute(text("SELECT * FROM web_sessions"))).all()
    await db.commit()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    assert rows[0]._mapping["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    status, me = await call(client, "GET", "/api/me")
    assert status == 200 and me["username"] == "lz_clerk"
    # The password itself is not echoed and not stored.
    assert PASSWORD not in await response.text()


async def test_session_cookie_is_secure_behind_https(
    settings: Settings, world: World, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(create_app(settings.with_changes(cookie_secure=True)))
    response = await client.post("/api/login", json={"username": "lz_clerk", "password": PASSWORD})
    assert response.status == 200
    assert session_cookie(response)["secure"]


async def test_logout_ends_the_session(client: Client, world: World, db: AsyncSession) -> None:
    csrf = await login(client, "lz_super")
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    status, body = await call(client, "POST", "/api/logout", None)
    assert status == 403  # logging out needs the CSRF token too
    response = await client.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert response.status == 204
    removal = session_cookie(response)
    assert removal.value == ""
    assert await scalar(db, "SELECT count(*) FROM web_sessions") == 0
    assert (await call(client, "GET", "/api/me"))[0] == 401
    # The old cookie, sent again by hand, opens nothing.
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token}, client.make_url("/"))
    status, body = await call(client, "GET", "/api/cases")
    assert status == 401
    assert body["error"]["message"] == "请先登录。"


async def test_logging_in_again_replaces_the_session(
    client: Client, world: World, db: AsyncSession
) -> None:
    await login(client, "lz_clerk")
    await login(client, "lz_super")
    assert await scalar(db, "SELECT count(*) FROM web_sessions") == 1
    _, me = await call(client, "GET", "/api/me")
    assert me["username"] == "lz_super"


async def test_expired_session_is_refused(client: Client, world: World, db: AsyncSession) -> None:
    await login(client, "lz_clerk")
    await execute(
        db,
        "UPDATE web_sessions SET expires_at = :past",
        past=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    assert (await call(client, "GET", "/api/me"))[0] == 401


async def test_wrong_password_five_times_then_limited(
    client: Client, world: World, db: AsyncSession
) -> None:
    for _ in range(5):
        status, body = await try_login(client, "lz_clerk", "wrong password")
        assert status == 401
        assert body["error"]["message"] == "用户名或密码错误。"
    status, body = await try_login(client, "lz_clerk", "wrong password")
    assert status == 429
    assert body["error"] == {
        "code": "error.rate_limited",
        "message": "尝试次数过多，请 15 分钟后再试。",
    }
    # While limited, even the right password is refused, and no session is opened.
    status, body = await try_login(client, "lz_clerk", PASSWORD)
    assert status == 429
    assert await scalar(db, "SELECT count(*) FROM web_sessions") == 0
    status, body = await try_login(client, "lz_clerk", PASSWORD, **{"Accept-Language": "en"})
    assert body["error"]["message"] == "Too many attempts. Try again in 15 minutes."
    # The failures were kept although each request failed.
    assert (
        await scalar(
            db, "SELECT count(*) FROM login_attempts WHERE username = 'lz_clerk' AND NOT success"
        )
        == 5
    )
    # Someone else is not affected.
    assert (await try_login(client, "lz_super", PASSWORD))[0] == 200
    # Fifteen minutes later the right password works again.
    await execute(
        db,
        "UPDATE login_attempts SET at = :then WHERE username = 'lz_clerk'",
        then=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16),
    )
    status, body = await try_login(client, "lz_clerk", PASSWORD)
    assert status == 200, body


async def test_a_success_resets_the_count(client: Client, world: World) -> None:
    for _ in range(4):
        assert (await try_login(client, "lz_clerk", "wrong password"))[0] == 401
    assert (await try_login(client, "lz_clerk", PASSWORD))[0] == 200
    client.session.cookie_jar.clear()
    for _ in range(4):
        assert (await try_login(client, "lz_clerk", "wrong password"))[0] == 401
    assert (await try_login(client, "lz_clerk", PASSWORD))[0] == 200


async def test_unknown_usernames_are_limited_and_answered_like_wrong_passwords(
    client: Client, world: World
) -> None:
    wrong_password = await try_login(client, "lz_clerk", "wrong password")
    unknown = await try_login(client, "nobody", "wrong password")
    assert unknown == wrong_password
    for _ in range(4):
        assert (await try_login(client, "nobody", "wrong password"))[0] == 401
    assert (await try_login(client, "nobody", "wrong password"))[0] == 429


async def test_disabled_account_is_refused(client: Client, world: World, db: AsyncSession) -> None:
    await login(client, "lz_mediator")
    await execute(db, "UPDATE staff SET active = false WHERE username = 'lz_mediator'")
    # The open session stops working at once…
    assert (await call(client, "GET", "/api/me"))[0] == 401
    # …and logging in is refused with the same answer as a wrong password.
    status, body = await try_login(client, "lz_mediator", PASSWORD)
    assert status == 401
    assert body["error"]["message"] == "用户名或密码错误。"
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM web_sessions WHERE staff_id = :id",
            id=world.staff["lz_mediator"].id,
        )
        == 1
    )


async def test_login_body_is_validated(client: Client, world: World) -> None:
    status, body = await call(client, "POST", "/api/login", None, {"username": "lz_clerk"})
    assert status == 422
    assert body["error"]["fields"] == {"password": "此项必填。"}
    status, body = await call(
        client, "POST", "/api/login", None, {"username": "x" * 65, "password": "x" * 257}
    )
    assert status == 422
    assert body["error"]["fields"] == {
        "username": "最多 64 个字符。",
        "password": "最多 256 个字符。",
    }
    status, body = await call(
        client,
        "POST",
        "/api/login",
        None,
        {"username": "lz_clerk", "password": PASSWORD, "role": "administrator"},
    )
    assert status == 422
    assert body["error"]["fields"] == {"role": "不允许的字段。"}


async def test_security_headers_on_pages_and_api(client: Client, world: World) -> None:
    for path in ("/login", "/api/openapi.json", "/healthz", "/api/me", "/api/no-such-thing"):
        response = await client.get(path, allow_redirects=False)
        assert response.status in (200, 401, 404), path
        assert_security_headers(response)
        assert response.headers.get("Access-Control-Allow-Origin") is None
    await login(client, "lz_clerk")
    for path in ("/api/me", "/api/cases", "/"):
        response = await client.get(path, allow_redirects=False)
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store"
    page = await client.get("/login")
    html = await page.text()
    assert "<script>" not in html and " style=" not in html and "<style" not in html
