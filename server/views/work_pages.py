"""The staff pages: work queue, case list, intake form, case detail and its action forms."""

from __future__ import annotations

from aiohttp import web

from server.views import staff_case, staff_cases, staff_queue


def add_routes(app: web.Application) -> None:
    """Routes of the staff pages (each module adds its own)."""
    for module in (staff_queue, staff_cases, staff_case):
        module.add_routes(app)
