"""The public keys page: every signing organisation's Ed25519 public key, so anyone holding an
evidence package or a signed document can check who signed it (``/keys``,
``/keys/<org code>.pem``). No login: public keys are public."""

from __future__ import annotations

from aiohttp import web

from server.context import ctx
from server.errors import NotFound
from server.keys import public_key_by_code, public_keys
from server.views.render import render


async def keys_page(request: web.Request) -> web.StreamResponse:
    """Each organisation's name, key fingerprint and a download link."""
    return render(request, "keys.html", {"keys": await public_keys(ctx(request).db)})


async def key_pem(request: web.Request) -> web.StreamResponse:
    """One organisation's public key as a PEM file."""
    name = request.match_info.get("file", "")
    if not name.endswith(".pem"):
        raise NotFound()
    key = await public_key_by_code(ctx(request).db, name.removesuffix(".pem"))
    if key is None:
        raise NotFound()
    return web.Response(
        text=key.public_pem,
        content_type="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="{key.code}.pem"'},
    )


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/keys", keys_page)
    app.router.add_get("/keys/{file}", key_pem)
