"""Rendering pages with the request's language, principal and CSRF token."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.appkeys import JINJA
from server.context import ctx
from server.middleware import anon_csrf_token


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    """Render ``template`` with the page context every template may rely on:
    ``t`` (translate), ``locale``, ``principal``, ``csrf_token``, ``request_path``, ``today``."""
    request_context = ctx(request)
    csrf = request_context.csrf_token or anon_csrf_token(request)
    page: dict[str, Any] = {
        "t": request_context.translate,
        "locale": request_context.translate.locale,
        "principal": request_context.principal,
        "csrf_token": csrf,
        "request_path": request.path,
        "query": request.query,
        "today": request_context.today,
    }
    page.update(context or {})
    html = request.app[JINJA].get_template(template).render(page)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    """A 303 to ``location`` (after a successful form post); returned, not raised, so the
    transaction commits and cookies can still be set on it."""
    return web.Response(status=303, headers={"Location": location})
