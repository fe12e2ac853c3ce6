"""Pages: placeholder until built."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
