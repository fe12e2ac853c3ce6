"""Administration: the centre's time limits (限时办结) per lane and dispute type."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import Field, field_validator

from server.access import require_role
from server.context import ctx, staff
from server.errors import InvalidInput
from server.validation import Body, parse
from server.views.render import redirect, render
from server.vocabulary import DisputeType, Lane, Role
from server.workflow.deadline_rules import rules, set_rule

logger = logging.getLogger(__name__)


class DeadlineRuleForm(Body):
    """One rule as posted from the page: an empty type means the whole lane, empty days removes."""

    lane: Lane
    dispute_type: DisputeType | None = None
    days: int | None = Field(default=None, ge=1, le=365)
    csrf: str = Field(default="", alias="_csrf")

    @field_validator("dispute_type", "days", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


async def _page(request: web.Request, errors: dict[str, str], status: int = 200) -> web.Response:
    context = ctx(request)
    return render(
        request,
        "admin/deadlines.html",
        {
            "rules": await rules(context.db),
            "lanes": list(Lane),
            "dispute_types": list(DisputeType),
            "errors": errors,
            "done": request.query.get("done") == "1",
        },
        status=status,
    )


async def deadlines_page(request: web.Request) -> web.StreamResponse:
    """The rules in force, and a form to change one."""
    require_role(staff(request), Role.ADMINISTRATOR)
    return await _page(request, {})


async def deadlines_submit(request: web.Request) -> web.StreamResponse:
    """Set or remove one rule."""
    who = staff(request)
    require_role(who, Role.ADMINISTRATOR)
    context = ctx(request)
    form = dict(await request.post())
    try:
        body = parse(DeadlineRuleForm, form)
        await set_rule(context.db, who, body.lane, body.dispute_type, body.days)
    except InvalidInput as exc:
        t = context.translate
        errors = {name: t(err.key, **err.params) for name, err in exc.fields.items()}
        return await _page(request, errors, status=422)
    logger.info(
        "deadline rule %s/%s set to %s by staff %s",
        body.lane,
        body.dispute_type,
        body.days,
        who.staff_id,
    )
    return redirect("/admin/deadlines?done=1")


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/admin/deadlines", deadlines_page)
    app.router.add_post("/admin/deadlines", deadlines_submit)
