"""The public dispute form (群众在线申请调解): no account, one page, a personal link at the end."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from server.appkeys import SETTINGS
from server.auth.throttle import take_public_submission
from server.context import ctx
from server.db import Organisation
from server.errors import FieldError, InvalidInput, RateLimited
from server.schemas.cases import PublicDisputeRequest
from server.validation import parse
from server.views.render import render
from server.workflow import submission

FORM_FIELDS: tuple[str, ...] = (
    "centre_code",
    "name",
    "phone",
    "id_number",
    "respondent_name",
    "respondent_phone",
    "title",
    "facts",
    "claims",
)
REQUIRED_FIELDS = frozenset({"centre_code", "name", "phone", "title", "facts"})
PHONE_FIELDS = ("phone", "respondent_phone")
UNKNOWN_CENTRE = "public.field_error.unknown_centre"
SUMMARY_LABELS = {"consent": "public.field.consent_short"}
# Order in which the error summary lists problems: the order of the form.
FIELD_ORDER: tuple[str, ...] = (*FORM_FIELDS, "consent")


@dataclass(frozen=True)
class CentreOption:
    """One centre in the select, indented under its county."""

    code: str
    name: str
    depth: int

    @property
    def indent(self) -> str:
        """Ideographic spaces that show the depth in the select (screen readers skip them)."""
        return "\u3000" * self.depth


@dataclass(frozen=True)
class CentreGroup:
    """An ``<optgroup>``: a county (or the city) and the centres beneath it."""

    label: str
    options: list[CentreOption]


def group_centres(centres: list[Organisation]) -> list[CentreGroup]:
    """Centres grouped city → county, each county group listing its townships and villages
    (depth-first, siblings by code) so that a village sits under its township."""
    by_id = {org.id: org for org in centres}
    children: dict[int | None, list[Organisation]] = defaultdict(list)
    for org in centres:
        parent = org.parent_id if org.parent_id in by_id else None
        children[parent].append(org)
    for siblings in children.values():
        siblings.sort(key=lambda org: org.code)

    def subtree(org: Organisation, depth: int) -> list[CentreOption]:
        options = [CentreOption(org.code, org.name, depth)]
        for child in children[org.id]:
            options.extend(subtree(child, depth + 1))
        return options

    groups: list[CentreGroup] = []
    for root in children[None]:
        groups.append(CentreGroup(root.name, [CentreOption(root.code, root.name, 0)]))
        for county in children[root.id]:
            groups.append(CentreGroup(county.name, subtree(county, 0)))
    return groups


def qr_svg(data: str, label: str) -> Markup:
    """An inline SVG QR code of ``data``, generated here (no outside service)."""
    code = segno.make(data, error="m", micro=False)
    svg = code.svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None, omitsize=True
    )
    # segno's SVG holds only path data computed from the modules, never the input text, so it
    # is safe to embed as is; the label is escaped by format().
    return Markup('<div class="qr-wrap" role="img" aria-label="{}">{}</div>').format(
        label,
        Markup(svg),  # noqa: S704
    )


def _text(value: object) -> str:
    """A form value as text; files and missing values count as empty."""
    return value if isinstance(value, str) else ""


def _form_values(form: MultiDictProxy[Any]) -> dict[str, str]:
    return {name: _text(form.get(name)) for name in FORM_FIELDS}


async def _render_form(
    request: web.Request,
    db: AsyncSession,
    values: dict[str, str],
    consent: bool,
    errors: dict[str, FieldError],
    status: int = 200,
) -> web.Response:
    t = ctx(request).translate
    messages = {name: t(err.key, **err.params) for name, err in errors.items()}
    names = [name for name in FIELD_ORDER if name in messages]
    names += [name for name in messages if name not in FIELD_ORDER]
    # The summary at the top names each field, then links to it.
    ordered = [
        (name, t(SUMMARY_LABELS.get(name, f"public.field.{name}")), messages[name])
        for name in names
    ]
    return render(
        request,
        "public/submit.html",
        {
            "groups": group_centres(await submission.public_centres(db)),
            "values": values,
            "consent": consent,
            "errors": messages,
            "error_list": ordered,
        },
        status=status,
    )


async def submit_page(request: web.Request) -> web.StreamResponse:
    """``GET /submit``: the empty form (``?centre=CODE`` preselects a centre, for posters)."""
    values = dict.fromkeys(FORM_FIELDS, "")
    values["centre_code"] = request.query.get("centre", "")[:32]
    return await _render_form(request, ctx(request).db, values, consent=False, errors={})


async def submit_form(request: web.Request) -> web.StreamResponse:
    """``POST /submit``: file the dispute, or show the form again with what is wrong.

    The confirmation is rendered straight from this response: the personal link must never
    travel in a redirect's URL (it would land in history and logs).
    """
    context = ctx(request)
    form = await request.post()
    values = _form_values(form)
    consent = form.get("consent") == "yes"
    errors: dict[str, FieldError] = {}
    dispute: PublicDisputeRequest | None = None
    try:
        dispute = parse(PublicDisputeRequest, values)
    except InvalidInput as exc:
        errors.update(exc.fields)
    # Friendlier words than the schema's for the commonest mistakes.
    for name in REQUIRED_FIELDS:
        if name in errors and not values[name].strip():
            errors[name] = FieldError("field.required")
    for name in PHONE_FIELDS:
        if name in errors and values[name].strip() and errors[name].key != "field.too_long":
            errors[name] = FieldError("public.field_error.phone")
    if "centre_code" not in errors and values["centre_code"]:
        centres = await submission.public_centres(context.db)
        if values["centre_code"].strip() not in {org.code for org in centres}:
            errors["centre_code"] = FieldError(UNKNOWN_CENTRE)
    if not consent:
        errors["consent"] = FieldError("public.submit.consent_required")
    if errors or dispute is None:
        return await _render_form(request, context.db, values, consent, errors, status=422)
    try:
        await take_public_submission(context.db, request.app[SETTINGS], request)
    except RateLimited as exc:
        limited = {"body": FieldError(exc.key, exc.params)}
        return await _render_form(request, context.db, values, consent, limited, status=429)
    try:
        case, token = await submission.submit(context.db, dispute, context.today)
    except InvalidInput as exc:
        # The centre list may have changed since the check above.
        fields = {
            name: FieldError(UNKNOWN_CENTRE) if name == "centre_code" else err
            for name, err in exc.fields.items()
        }
        return await _render_form(request, context.db, values, consent, fields, status=422)
    centre = await context.db.get(Organisation, case.centre_id)
    follow_url = f"{request.app[SETTINGS].base_url}/p/{token}"
    return render(
        request,
        "public/submitted.html",
        {
            "reference": case.id,
            "follow_url": follow_url,
            "centre_name": centre.name if centre else "",
            "qr": qr_svg(follow_url, context.translate("public.submitted.qr_label")),
            # Switching language reloads /submit and would lose the link shown only here;
            # base.html may honour this to leave its language switch out.
            "hide_language_switch": True,
        },
    )


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/submit", submit_page)
    app.router.add_post("/submit", submit_form)
