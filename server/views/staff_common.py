"""Helpers the staff pages share: who is signed in, reading forms, field messages, org names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import StaffPrincipal
from server.context import ctx
from server.db import Organisation, Staff
from server.db.base import subtree_range
from server.errors import FieldError, InvalidInput
from server.i18n import Translator


def staff_or_login(request: web.Request) -> StaffPrincipal:
    """The signed-in staff member; anyone else is sent to the login page and back."""
    who = ctx(request).principal
    if not isinstance(who, StaffPrincipal):
        target = request.path_qs
        raise web.HTTPSeeOther("/login?next=" + quote(target, safe="/"))
    return who


@dataclass(frozen=True)
class FormData:
    """A posted form as plain strings (the last value wins; ``getall`` keeps every value)."""

    values: dict[str, str]
    multi: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        """One field's value, stripped."""
        return self.values.get(name, default)

    def getall(self, name: str) -> list[str]:
        """Every non-empty value of a repeated field (a multi-select)."""
        return [v for v in self.multi.get(name, []) if v]


async def read_form(request: web.Request) -> FormData:
    """The request's form fields; files and the CSRF field are ignored."""
    posted = await request.post()
    values: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in posted.items():
        if not isinstance(value, str) or key == "_csrf":
            continue
        values[key] = value.strip()
        multi.setdefault(key, []).append(value.strip())
    return FormData(values, multi)


def non_empty(data: Mapping[str, str], *names: str) -> dict[str, str]:
    """The named fields that were filled in: an empty field means "not given", so pydantic
    applies its default or reports the field as required."""
    return {name: data[name] for name in names if data.get(name)}


def messages(
    t: Translator, exc: InvalidInput, rename: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Field name → translated message; ``rename`` maps pydantic locations to form names."""
    out: dict[str, str] = {}
    for loc, err in exc.fields.items():
        name = (rename or {}).get(loc, loc)
        out.setdefault(name, _message(t, err))
    return out


def _message(t: Translator, err: FieldError) -> str:
    if err.key == "field.too_short" and err.params.get("min") == 1:
        # An empty required text is "required", not "too short".
        return t("field.required")
    return t(err.key, **err.params)


async def orgs_named(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, Organisation]:
    """Organisations by id, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Organisation).where(Organisation.id.in_(wanted)))
    return {org.id: org for org in rows.scalars()}


async def staff_named(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, Staff]:
    """Staff accounts by id, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff).where(Staff.id.in_(wanted)))
    return {person.id: person for person in rows.scalars()}


def ancestor_ids(path: str) -> list[int]:
    """Ids on a materialised path (``/1/4/17/`` → ``[1, 4, 17]``)."""
    return [int(part) for part in path.strip("/").split("/") if part]


async def nearby_orgs(db: AsyncSession, anchor_path: str, limit: int = 1000) -> list[Organisation]:
    """Organisations a case at ``anchor_path`` can sensibly be sent to: everything below the
    anchor, the anchor's ancestors, and what hangs directly off each ancestor (the county's
    rooms, departments and court for a village case; the neighbouring counties)."""
    ancestors = ancestor_ids(anchor_path)
    low, high = subtree_range(anchor_path)
    rows = await db.execute(
        select(Organisation)
        .where(
            or_(
                Organisation.id.in_(ancestors),
                Organisation.parent_id.in_(ancestors),
                (Organisation.path >= low) & (Organisation.path < high),
            )
        )
        .order_by(Organisation.path)
        .limit(limit)
    )
    return list(rows.scalars())


def choice(value: Any) -> str:
    """An enum or plain value as the string a form option carries."""
    return "" if value is None else str(value)
