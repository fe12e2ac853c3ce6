"""The dashboard page (``/dashboard``): figures of an organisation and period as cards, SVG
charts drawn on the server, and the same numbers in tables.

Charts are laid out in percentages of their width (no viewBox scaling), so text keeps its size
from a 375px phone to a desktop; colours come from the Okabe–Ito palette (distinguishable with
every common colour-vision deficiency) and every chart is labelled and repeated as a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web
from pydantic import Field

from server.access import CENTRE_ROLES, require_role
from server.api.stats import StatsQuery, requested_org, resolve_period
from server.auth.principal import StaffPrincipal
from server.context import ctx
from server.errors import InvalidInput
from server.i18n import Translator
from server.queries.stats import (
    Centre,
    DashboardFigures,
    TrendPoint,
    UnitFigures,
    centres_below,
    dashboard_figures,
)
from server.validation import parse
from server.views.render import redirect, render
from server.vocabulary import CENTRE_KINDS, DisputeType, Lane

Preset = Literal["this_month", "this_year", "h1_2022"]
PRESETS: tuple[Preset, ...] = ("this_month", "this_year", "h1_2022")
FORM_FIELDS = ("org", "from", "to", "period")


class DashboardQuery(StatsQuery):
    """The dashboard form: the API's query plus a preset period."""

    period: Preset | None = Field(default=None, description="a preset period")


def preset_period(preset: Preset, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days a preset covers (up to today for the current month and year)."""
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "this_year":
        return today.replace(month=1, day=1), today
    # The period of Wuwei's published figures (DOMAIN.md).
    return dt.date(2022, 1, 1), dt.date(2022, 6, 30)


# --- formatting --------------------------------------------------------------------------


def percent(part: int, whole: int) -> str:
    """``part / whole`` as a percentage with one decimal, rounded half up (3410/3436: 99.2%)."""
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}%"


def number(value: int) -> str:
    """Thousands separated (3,436)."""
    return f"{value:,}"


def _pct(part: float, whole: float) -> float:
    """A length in percent of the chart's width, 0 to 100, 2 decimals."""
    return round(100 * part / whole, 2) if whole else 0.0


# --- chart geometry ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One labelled horizontal bar (dispute types)."""

    label: str
    count: int
    share: str
    width: float  # percent of the chart width
    y: int
    css: str


@dataclass(frozen=True)
class Segment:
    """One part of a 100% share bar (centre levels, lanes)."""

    key: str
    label: str
    count: int
    share: str
    x: float
    width: float
    css: str
    show_label: bool


@dataclass(frozen=True)
class Column:
    """One period of the trend: an accepted and a mediated bar side by side."""

    label: str
    tick: str
    accepted: int
    mediated: int
    rate: str
    x_accepted: float  # in the bar area's own units: 10 per period
    x_mediated: float
    y_accepted: float
    y_mediated: float
    h_accepted: float
    h_mediated: float
    x_label: float  # percent of the chart width
    show_tick: bool


@dataclass(frozen=True)
class Gridline:
    """A horizontal reference line of the trend chart."""

    y: float
    label: str


@dataclass(frozen=True)
class Trend:
    """The trend chart: periods, gridlines and sizes."""

    columns: list[Column]
    gridlines: list[Gridline]
    width_units: int
    plot_top: int
    plot_height: int
    height: int


@dataclass(frozen=True)
class ChildRow:
    """A row of the per-child table with its inline bar widths (percent of the cell)."""

    name: str
    code: str
    kind: str
    own: bool
    figures: UnitFigures
    rate: str
    accepted_width: float
    mediated_width: float
    link: str


TYPE_ROW = 44  # px per dispute type: label line, then the bar
LEVEL_CSS = {"city": "c1", "county": "c2", "township": "c3", "village": "c4"}
LANE_CSS = {"fast": "c5", "normal": "c6"}


def type_bars(figures: DashboardFigures, t: Translator) -> list[Bar]:
    """Dispute types by count (largest first), unregistered cases last."""
    items = sorted(
        figures.by_type.items(), key=lambda item: (-item[1], list(DisputeType).index(item[0]))
    )
    rows: list[tuple[str, int, str]] = [(t(f"dispute_type.{k.value}"), n, "c1") for k, n in items]
    if figures.unregistered:
        rows.append((t("dashboard.unregistered"), figures.unregistered, "c0"))
    largest = max((n for _, n, _ in rows), default=0)
    return [
        Bar(label, n, percent(n, figures.accepted), _pct(n, largest), i * TYPE_ROW, css)
        for i, (label, n, css) in enumerate(rows)
    ]


def share_segments(
    counts: dict[str, int], total: int, labels: dict[str, str], css: dict[str, str]
) -> list[Segment]:
    """The parts of a 100% bar, in the order of ``counts``."""
    segments: list[Segment] = []
    x = 0.0
    for key, n in counts.items():
        width = _pct(n, total)
        segments.append(
            Segment(key, labels[key], n, percent(n, total), x, width, css[key], width >= 9)
        )
        x = round(x + width, 2)
    return segments


def nice_step(largest: int) -> int:
    """A round gridline step giving about four lines up to ``largest``."""
    if largest <= 4:
        return 1
    raw = largest / 4
    magnitude = int(10 ** (len(str(int(raw))) - 1))
    for factor in (1, 2, 2.5, 5, 10):
        step = int(factor * magnitude)
        if step >= raw:
            return max(step, 1)
    return 10 * magnitude


def trend_chart(points: list[TrendPoint], unit: str) -> Trend:
    """Geometry of the grouped bar chart of accepted and mediated per period."""
    plot_top, plot_height, axis = 22, 170, 26
    largest = max((p.accepted for p in points), default=0)
    step = nice_step(largest)
    top = max(step * -(-largest // step), step)  # the gridline at or above the largest bar
    scale = plot_height / top
    n = len(points)
    # A gutter on the right (12% of the width) keeps the gridline labels off the bars.
    width_units = max(n, 1) * 10 + max(-(-max(n, 1) * 12 // 10), 4)
    every = 1 if n <= 12 else 2 if n <= 24 else 5
    columns: list[Column] = []
    for i, p in enumerate(points):
        h_acc = round(p.accepted * scale, 2)
        h_med = round(p.mediated * scale, 2)
        tick = p.label[5:] if unit == "month" else p.label
        if unit == "month" and (i == 0 or p.label.endswith("-01")):
            tick = p.label.replace("-", ".")
        columns.append(
            Column(
                label=p.label,
                tick=tick,
                accepted=p.accepted,
                mediated=p.mediated,
                rate=percent(p.mediated, p.accepted),
                x_accepted=i * 10 + 1.5,
                x_mediated=i * 10 + 5,
                y_accepted=round(plot_height - h_acc, 2),
                y_mediated=round(plot_height - h_med, 2),
                h_accepted=h_acc,
                h_mediated=h_med,
                x_label=_pct(i * 10 + 5, width_units),
                show_tick=i % every == 0,
            )
        )
    gridlines = [
        Gridline(round(plot_top + plot_height - v * scale, 2), number(v))
        for v in range(0, top + 1, step)
    ]
    return Trend(
        columns, gridlines, width_units, plot_top, plot_height, plot_top + plot_height + axis
    )


def child_rows(figures: DashboardFigures, query: dict[str, str]) -> list[ChildRow]:
    """Each child centre, then the organisation's own centre, with inline bar widths."""
    units = [(u, False) for u in figures.by_child] + [(figures.own_centre, True)]
    largest = max((u.accepted for u, _ in units), default=0)
    rows = []
    for unit, own in units:
        link = "/dashboard?" + urlencode({**query, "org": unit.code})
        rows.append(
            ChildRow(
                unit.name,
                unit.code,
                unit.kind.value,
                own,
                unit,
                percent(unit.mediated, unit.accepted),
                _pct(unit.accepted, largest),
                _pct(unit.mediated, largest),
                link,
            )
        )
    return rows


def org_options(centres: list[Centre], top_path: str) -> list[tuple[str, str]]:
    """``(code, label)`` of every centre in scope, indented by depth below the caller's."""
    base = top_path.count("/")
    return [(c.code, "\u3000" * (c.path.count("/") - base) + c.name) for c in centres]


# --- the page ----------------------------------------------------------------------------


def _form_values(request: web.Request) -> dict[str, str]:
    return {k: request.query[k] for k in FORM_FIELDS if request.query.get(k, "") != ""}


def _view(figures: DashboardFigures, t: Translator, period_query: dict[str, str]) -> dict[str, Any]:
    level_labels = {k.value: t(f"org_kind.{k.value}") for k in CENTRE_KINDS}
    lane_labels = {k.value: t(f"lane.{k.value}") for k in Lane}
    levels = share_segments(
        {k.value: figures.by_level.get(k, 0) for k in CENTRE_KINDS},
        figures.accepted,
        level_labels,
        LEVEL_CSS,
    )
    lanes = share_segments(
        {k.value: figures.by_lane.get(k, 0) for k in Lane}, figures.accepted, lane_labels, LANE_CSS
    )
    bars = type_bars(figures, t)
    return {
        "f": figures,
        "rate": percent(figures.mediated, figures.accepted),
        "types": bars,
        "types_height": len(bars) * TYPE_ROW,
        "levels": levels,
        "lanes": lanes,
        "children": child_rows(figures, period_query),
        "trend": trend_chart(figures.trend, figures.trend_unit),
    }


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    """The dashboard of an organisation in the caller's scope, for a period."""
    context = ctx(request)
    who = context.principal
    if not isinstance(who, StaffPrincipal):
        return redirect("/login?" + urlencode({"next": request.path_qs}))
    require_role(who, *CENTRE_ROLES)
    t = context.translate
    centres = await centres_below(context.db, who.org_path)
    values = _form_values(request)
    page: dict[str, Any] = {
        "orgs": org_options(centres, who.org_path),
        "presets": PRESETS,
        "errors": {},
        "values": values,
        "view": None,
        "active_preset": None,
        "number": number,
    }
    try:
        query = parse(DashboardQuery, values)
        org = await requested_org(context.db, who, query.org)
        if query.period is not None:
            date_from, date_to = preset_period(query.period, context.today)
        else:
            date_from, date_to = resolve_period(query, context.today)
    except InvalidInput as exc:
        page["errors"] = {name: t(e.key, **e.params) for name, e in exc.fields.items()}
        return render(request, "dashboard.html", page, status=422)
    figures = await dashboard_figures(context.db, org, date_from, date_to, context.today)
    period_query = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    page["values"] = {"org": org.code, **period_query}
    page["active_preset"] = next(
        (p for p in PRESETS if preset_period(p, context.today) == (date_from, date_to)), None
    )
    page["view"] = _view(figures, t, period_query)
    return render(request, "dashboard.html", page)


def add_routes(app: web.Application) -> None:
    """Routes of this module."""
    app.router.add_get("/dashboard", dashboard_page)
