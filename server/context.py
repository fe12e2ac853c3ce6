"""What a request carries once the middleware has looked at it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import PartyPrincipal, Principal, StaffPrincipal
from server.errors import NotFound, Unauthenticated
from server.i18n import Translator


@dataclass
class RequestContext:
    """Per-request state: the database session (one transaction), who is asking, language."""

    db: AsyncSession
    translate: Translator
    today: dt.date
    principal: Principal | None = None
    csrf_token: str | None = None
    session_token: str | None = None


CONTEXT = web.RequestKey("context", RequestContext)


def ctx(request: web.Request) -> RequestContext:
    """The request's context, set by ``server.middleware``."""
    return request[CONTEXT]


def staff(request: web.Request) -> StaffPrincipal:
    """The logged-in staff member, or :class:`Unauthenticated`."""
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        raise Unauthenticated()
    return who


def party(request: web.Request) -> PartyPrincipal:
    """The party behind the current link session; anyone else is told there is nothing here."""
    who = ctx(request).principal
    if not isinstance(who, PartyPrincipal):
        raise NotFound()
    return who


def match_int(request: web.Request, name: str) -> int:
    """An integer path parameter; anything else is answered as not found."""
    raw = request.match_info.get(name, "")
    # ASCII digits only ("²" is a digit to isdigit() but not to int()); ids are 32-bit
    # integer columns, so a larger number cannot exist (and PostgreSQL would refuse it).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise NotFound()
    return int(raw)
