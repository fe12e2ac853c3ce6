"""Where every page module adds its routes and the template filters they share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2
from aiohttp import web

from server.views import (
    admin_pages,
    auth_pages,
    confirmation_pages,
    dashboard_pages,
    document_pages,
    export_pages,
    hearing_pages,
    keys_pages,
    live_pages,
    party_pages,
    public_pages,
    recording_pages,
    sign_pages,
    transcript_pages,
    work_pages,
)


def add_routes(app: web.Application) -> None:
    """Add the routes of every page module."""
    for module in (
        auth_pages,
        work_pages,
        party_pages,
        public_pages,
        dashboard_pages,
        document_pages,
        admin_pages,
        hearing_pages,
        live_pages,
        recording_pages,
        export_pages,
        keys_pages,
        transcript_pages,
        sign_pages,
        confirmation_pages,
    ):
        module.add_routes(app)


def _date(value: dt.date | dt.datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return ""
    return value.strftime(fmt)


def _datetime_local(value: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    from zoneinfo import ZoneInfo

    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def install_filters(env: jinja2.Environment) -> None:
    """Filters templates use: ``date``, ``datetime`` (centre time)."""
    filters: dict[str, Any] = {"date": _date, "datetime": _datetime_local}
    env.filters.update(filters)
