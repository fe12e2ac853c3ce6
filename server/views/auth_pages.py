"""Login and logout pages for staff."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import SETTINGS
from server.auth.login import authenticate, start_staff_session
from server.auth.sessions import SESSION_COOKIE, close_session
from server.context import ctx
from server.errors import BilinError
from server.views.render import redirect, render


def _safe_next(value: str | None) -> str:
    """Only same-site paths may be redirected to after login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form."""
    return render(
        request,
        "login.html",
        {"error": None, "username": "", "next": _safe_next(request.query.get("next"))},
    )


async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check the credentials; on success open a session and go where the person was going."""
    context = ctx(request)
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:256]
    next_path = _safe_next(str(form.get("next", "/")))
    try:
        staff = await authenticate(
            context.db, request.app[SETTINGS], username, password, request.remote or ""
        )
    except BilinError as exc:
        return render(
            request,
            "login.html",
            {
                "error": context.translate(exc.key, **exc.params),
                "username": username,
                "next": next_path,
            },
            status=exc.status,
        )
    response = redirect(next_path)
    await start_staff_session(
        context.db, request.app[SETTINGS], response, staff, context.translate.locale
    )
    return response


async def logout_submit(request: web.Request) -> web.StreamResponse:
    """End the session and return to the login page."""
    context = ctx(request)
    if context.session_token:
        await close_session(context.db, context.session_token)
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
