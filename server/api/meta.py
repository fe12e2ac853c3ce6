"""``/healthz`` and ``/api/openapi.json``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import text

from server.api.openapi import build_openapi
from server.api.routes import api
from server.context import ctx


def bilin_version() -> str:
    """The installed package's version."""
    try:
        return version("bilin")
    except PackageNotFoundError:
        return "0.0.0"


class Health(BaseModel):
    """Liveness and database reachability."""

    status: str
    version: str
    database: str


@api.operation(
    "GET",
    "/healthz",
    summary="Health check",
    tag="meta",
    response=Health,
    auth="none",
)
async def healthz(request: web.Request) -> Health:
    """200 when the process runs and the database answers."""
    await ctx(request).db.execute(text("SELECT 1"))
    return Health(status="ok", version=bilin_version(), database="ok")


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the API."""
    return web.json_response(build_openapi(api, bilin_version()))
