"""``/api/login``, ``/api/logout``, ``/api/me``."""

from __future__ import annotations

from aiohttp import web

from server.api.routes import api
from server.appkeys import SETTINGS
from server.auth.login import authenticate, start_staff_session
from server.auth.sessions import SESSION_COOKIE, close_session
from server.context import ctx, staff
from server.schemas.auth import LoginRequest, LoginResponse, Me


def remote_address(request: web.Request) -> str:
    """The client's address as this process sees it."""
    return request.remote or ""


@api.operation(
    "POST",
    "/api/login",
    summary="Log in (staff)",
    tag="auth",
    body=LoginRequest,
    response=LoginResponse,
    auth="none",
    errors=(401, 429),
)
async def login(request: web.Request, body: LoginRequest) -> web.StreamResponse:
    """Exchange username and password for a session cookie and a CSRF token."""
    context = ctx(request)
    settings = request.app[SETTINGS]
    account = await authenticate(
        context.db, settings, body.username, body.password, remote_address(request)
    )
    if context.session_token:
        # Logging in over a live session replaces it rather than leaving it open.
        await close_session(context.db, context.session_token)
    response = web.json_response({})
    csrf = await start_staff_session(
        context.db, settings, response, account, context.translate.locale
    )
    payload = LoginResponse(
        me=Me(
            id=account.id,
            username=account.username,
            display_name=account.display_name,
            role=account.role,
            org_code=account.org.code,
            org_name=account.org.name,
        ),
        csrf_token=csrf,
    )
    response.text = payload.model_dump_json()
    return response


@api.operation("POST", "/api/logout", summary="Log out", tag="auth", status=204)
async def logout(request: web.Request) -> web.StreamResponse:
    """End the current session."""
    context = ctx(request)
    staff(request)
    if context.session_token:
        await close_session(context.db, context.session_token)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api.operation("GET", "/api/me", summary="The logged-in staff member", tag="auth", response=Me)
async def me(request: web.Request) -> Me:
    """Who the session belongs to."""
    who = staff(request)
    return Me(
        id=who.staff_id,
        username=who.username,
        display_name=who.display_name,
        role=who.role,
        org_code=who.org_code,
        org_name=who.org_name,
    )
