"""A party's personal link: exchanged for a session at once, then their case's status page."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import SETTINGS
from server.auth.login import set_session_cookie
from server.auth.sessions import open_session
from server.context import ctx
from server.errors import NotFound
from server.views.render import redirect
from server.workflow.submission import party_for_token


async def link_exchange(request: web.Request) -> web.StreamResponse:
    """``/p/{token}``: open a party session and drop the token from the address bar."""
    context = ctx(request)
    party = await party_for_token(context.db, request.match_info["token"])
    if party is None:
        raise NotFound()
    settings = request.app[SETTINGS]
    token, _ = await open_session(
        context.db,
        max_age_s=settings.session_max_age_s,
        party_id=party.id,
        locale=context.translate.locale,
    )
    response = redirect("/my-case")
    set_session_cookie(settings, response, token)
    return response


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/p/{token}", link_exchange)
