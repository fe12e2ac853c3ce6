"""Dashboard figures: the query on known cases, and ``GET /api/stats`` (scope, defaults, bad
input), on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, Organisation, Party, Rating
from server.db.migrate import alembic_config
from server.db.stats_rollup import rebuild_case_month_stats_sql
from server.queries.stats import (
    Aggregates,
    Centre,
    DashboardFigures,
    Split,
    assemble,
    centres_below,
    dashboard_figures,
    live_parts,
    rate,
    run_concurrently,
    split_period,
)
from server.settings import Settings
from server.views.dashboard_pages import percent
from server.vocabulary import CaseStatus, Channel, DisputeType, Lane, OrgKind, Outcome, PartyRole
from tests.server.test_workflow import act_as, call, online_dispute, take_in
from tests.world import World, login

D = dt.date
H1_2022 = {"from": "2022-01-01", "to": "2022-06-30"}
AS_OF = D(2026, 11, 28)


async def _case(
    db: AsyncSession,
    world: World,
    centre: str,
    accepted_on: dt.date,
    *,
    status: CaseStatus = CaseStatus.CLOSED,
    dispute_type: DisputeType | None = DisputeType.OTHER,
    lane: Lane = Lane.NORMAL,
    outcome: Outcome | None = None,
    deadline_on: dt.date | None = None,
    closed_on: dt.date | None = None,
    ratings: tuple[int, ...] = (),
) -> Case:
    org = world.orgs[centre]
    case = Case(
        status=status,
        channel=Channel.WALK_IN,
        dispute_type=dispute_type,
        lane=lane,
        title="纠纷",
        centre_id=org.id,
        scope_path=org.path,
        accepted_on=accepted_on,
        accepted_at=dt.datetime.combine(accepted_on, dt.time(1), dt.UTC),
        deadline_on=deadline_on,
        closed_on=closed_on,
        closed_at=dt.datetime.combine(closed_on, dt.time(8), dt.UTC) if closed_on else None,
        outcome=outcome,
    )
    db.add(case)
    await db.flush()
    for i, score in enumerate(ratings):
        party = Party(case_id=case.id, role=PartyRole.APPLICANT, name=f"当事人{i}")
        db.add(party)
        await db.flush()
        db.add(Rating(case_id=case.id, party_id=party.id, score=score))
    return case


async def seed_cases(db: AsyncSession, world: World) -> None:
    """Eight cases accepted in the first half of 2022 across the tree, and four that are not
    the period's accepted cases. The expected figures are worked out in the tests below."""
    mediated, failed, withdrawn = Outcome.MEDIATED, Outcome.NOT_MEDIATED, Outcome.WITHDRAWN
    # city centre itself: first day of the period, closed in 10 days, rated 5 and 4
    await _case(db, world, "620600", D(2022, 1, 1), dispute_type=DisputeType.NEIGHBOUR,
                outcome=mediated, deadline_on=D(2022, 1, 31), closed_on=D(2022, 1, 11),
                ratings=(5, 4))  # fmt: skip
    # 凉州区: fast lane closed 2 days late (5 days); normal closed on its deadline (30 days)
    await _case(db, world, "620602", D(2022, 3, 15), dispute_type=DisputeType.LABOUR,
                lane=Lane.FAST, outcome=mediated, deadline_on=D(2022, 3, 18),
                closed_on=D(2022, 3, 20))  # fmt: skip
    await _case(db, world, "620602", D(2022, 3, 16), dispute_type=DisputeType.LABOUR,
                outcome=failed, deadline_on=D(2022, 4, 15), closed_on=D(2022, 4, 15),
                ratings=(1,))  # fmt: skip
    # its township: last day of the period, still open past its deadline; one not registered
    await _case(db, world, "620602001", D(2022, 6, 30), status=CaseStatus.MEDIATING,
                dispute_type=DisputeType.MARRIAGE_FAMILY, deadline_on=D(2022, 7, 30))  # fmt: skip
    await _case(db, world, "620602001", D(2022, 5, 1), status=CaseStatus.ACCEPTED,
                dispute_type=None)  # fmt: skip
    # its village: fast lane, 2 days
    await _case(db, world, "620602001001", D(2022, 2, 2), dispute_type=DisputeType.LAND,
                lane=Lane.FAST, outcome=mediated, deadline_on=D(2022, 2, 5),
                closed_on=D(2022, 2, 4), ratings=(3,))  # fmt: skip
    # 民勤县: withdrawn 6 days late (36 days); its township: open past its deadline
    await _case(db, world, "620621", D(2022, 4, 4), outcome=withdrawn,
                deadline_on=D(2022, 5, 4), closed_on=D(2022, 5, 10))  # fmt: skip
    await _case(db, world, "620621001", D(2022, 4, 5), status=CaseStatus.REGISTERED,
                dispute_type=DisputeType.NEIGHBOUR, deadline_on=D(2022, 5, 5))  # fmt: skip
    # Not the period's accepted cases: a day before, a day after, an online submission not
    # accepted yet, and one declined.
    await _case(db, world, "620600", D(2021, 12, 31), outcome=mediated,
                deadline_on=D(2022, 1, 30), closed_on=D(2022, 1, 2), ratings=(1,))  # fmt: skip
    await _case(db, world, "620602", D(2022, 7, 1), outcome=mediated,
                deadline_on=D(2022, 7, 30), closed_on=D(2022, 7, 2))  # fmt: skip
    await _case(db, world, "620602", D(2022, 3, 1), status=CaseStatus.SUBMITTED,
                dispute_type=None)  # fmt: skip
    await _case(db, world, "620602", D(2022, 3, 2), status=CaseStatus.DECLINED,
                dispute_type=None, deadline_on=D(2022, 3, 5))  # fmt: skip
    await db.commit()


def _units(units: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {
        u.code: (
            u.accepted,
            u.mediated,
            u.success_rate,
            u.overdue_open,
            u.closed_late,
            u.average_days_to_close,
        )
        for u in units
    }


# --- the query ---------------------------------------------------------------------------


async def test_city_figures(db: AsyncSession, world: World) -> None:
    await seed_cases(db, world)
    f = await dashboard_figures(db, world.orgs["620600"], D(2022, 1, 1), D(2022, 6, 30), AS_OF)

    assert (f.accepted, f.mediated, f.success_rate) == (8, 3, 0.375)
    assert f.by_type == {
        DisputeType.MARRIAGE_FAMILY: 1,
        DisputeType.NEIGHBOUR: 2,
        DisputeType.LABOUR: 2,
        DisputeType.LAND: 1,
        DisputeType.ROAD_TRAFFIC: 0,
        DisputeType.MEDICAL: 0,
        DisputeType.PROPERTY_MANAGEMENT: 0,
        DisputeType.LAND_CONTRACT: 0,
        DisputeType.ENVIRONMENT: 0,
        DisputeType.OTHER: 1,
    }
    assert f.unregistered == 1
    assert f.by_level == {"city": 1, "county": 3, "township": 3, "village": 1}
    assert f.by_lane == {"fast": 2, "normal": 6}
    assert (f.overdue.open, f.overdue.closed_late) == (2, 2)
    assert f.closed == 5
    assert f.average_days_to_close == 16.6  # (10 + 5 + 30 + 2 + 36) / 5
    assert (f.satisfaction.average, f.satisfaction.count) == (3.25, 4)
    # Every child county with what is below it, and the city's own centre apart.
    assert [u.code for u in f.by_child] == ["620602", "620621"]
    assert _units(f.by_child) == {
        "620602": (5, 2, 0.4, 1, 1, 12.3),  # (5 + 30 + 2) / 3
        "620621": (2, 0, 0.0, 1, 1, 36.0),
    }
    assert _units([f.own_centre]) == {"620600": (1, 1, 1.0, 0, 0, 10.0)}
    assert [(p.label, p.accepted, p.mediated) for p in f.trend] == [
        ("2022-01", 1, 1),
        ("2022-02", 1, 1),
        ("2022-03", 2, 1),
        ("2022-04", 2, 0),
        ("2022-05", 1, 0),
        ("2022-06", 1, 0),
    ]
    assert f.trend_unit == "month"


async def test_county_figures_exclude_rooms_and_the_other_county(
    db: AsyncSession, world: World
) -> None:
    await seed_cases(db, world)
    f = await dashboard_figures(db, world.orgs["620602"], D(2022, 1, 1), D(2022, 6, 30), AS_OF)

    assert (f.accepted, f.mediated, f.success_rate) == (5, 2, 0.4)
    assert f.by_level == {"city": 0, "county": 2, "township": 2, "village": 1}
    # The county's room, departments and court handle no cases of their own: not children.
    assert [u.code for u in f.by_child] == ["620602001"]
    assert _units(f.by_child) == {"620602001": (3, 1, 0.3333, 1, 0, 2.0)}
    assert _units([f.own_centre]) == {"620602": (2, 1, 0.5, 0, 1, 17.5)}
    assert (f.satisfaction.average, f.satisfaction.count) == (2.0, 2)


async def test_period_boundaries_are_inclusive(db: AsyncSession, world: World) -> None:
    await seed_cases(db, world)
    city = world.orgs["620600"]

    inner = await dashboard_figures(db, city, D(2022, 1, 2), D(2022, 6, 29), AS_OF)
    assert inner.accepted == 6  # without 1 January and 30 June

    one_day = await dashboard_figures(db, city, D(2022, 6, 30), D(2022, 6, 30), AS_OF)
    assert (one_day.accepted, one_day.by_type[DisputeType.MARRIAGE_FAMILY]) == (1, 1)
    assert [p.label for p in one_day.trend] == ["2022-06"]


async def test_overdue_is_counted_as_of_the_given_day(db: AsyncSession, world: World) -> None:
    await seed_cases(db, world)
    city = world.orgs["620600"]
    # On 30 July 2022 the township's case is on its deadline, not past it; 民勤's is past.
    f = await dashboard_figures(db, city, D(2022, 1, 1), D(2022, 6, 30), D(2022, 7, 30))
    assert (f.overdue.open, f.overdue.closed_late) == (1, 2)


async def test_empty_period_and_a_village(db: AsyncSession, world: World) -> None:
    await seed_cases(db, world)
    village = world.orgs["620602001001"]

    empty = await dashboard_figures(db, village, D(2023, 1, 1), D(2023, 12, 31), AS_OF)
    assert (empty.accepted, empty.mediated, empty.success_rate) == (0, 0, 0.0)
    assert empty.average_days_to_close is None
    assert (empty.satisfaction.average, empty.satisfaction.count) == (None, 0)
    assert set(empty.by_type.values()) == {0}
    assert empty.by_child == []
    assert len(empty.trend) == 12

    f = await dashboard_figures(db, village, D(2022, 1, 1), D(2022, 6, 30), AS_OF)
    assert (f.accepted, f.mediated, f.by_level["village"]) == (1, 1, 1)


async def test_long_periods_trend_by_year(db: AsyncSession, world: World) -> None:
    await seed_cases(db, world)
    f = await dashboard_figures(db, world.orgs["620600"], D(2021, 1, 1), D(2023, 12, 31), AS_OF)
    assert f.trend_unit == "year"
    assert [(p.label, p.accepted, p.mediated) for p in f.trend] == [
        ("2021", 1, 1),
        ("2022", 9, 4),
        ("2023", 0, 0),
    ]


def test_rates_round_like_the_published_figures() -> None:
    # Wuwei, first half of 2022: 3,410 of 3,436 mediated, 579 marriage and family.
    assert rate(3410, 3436) == 0.9924
    assert percent(3410, 3436) == "99.2%"
    assert percent(579, 3436) == "16.9%"
    assert percent(792, 3436) == "23.1%"
    assert percent(1, 0) == "—"


# --- GET /api/stats ----------------------------------------------------------------------


async def test_api_returns_the_figures(client: TestClient, db: AsyncSession, world: World) -> None:  # type: ignore[type-arg]
    await seed_cases(db, world)
    await login(client, "city_super")
    response = await client.get("/api/stats", params={"org": "620600", **H1_2022})
    assert response.status == 200
    body = await response.json()
    assert (body["accepted"], body["mediated"], body["success_rate"]) == (8, 3, 0.375)
    assert body["by_type"]["neighbour"] == 2
    assert body["by_type"]["road_traffic"] == 0
    assert body["unregistered"] == 1
    assert body["by_level"] == {"city": 1, "county": 3, "township": 3, "village": 1}
    assert body["by_lane"] == {"fast": 2, "normal": 6}
    assert body["overdue"] == {"open": 2, "closed_late": 2}
    assert body["average_days_to_close"] == 16.6
    assert body["satisfaction"] == {"average": 3.25, "count": 4}
    assert [c["code"] for c in body["by_child"]] == ["620602", "620621"]
    assert body["by_child"][0]["accepted"] == 5
    assert (body["date_from"], body["date_to"]) == ("2022-01-01", "2022-06-30")


async def test_api_defaults_to_own_org_and_this_year(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await login(client, "lz_super")
    response = await client.get("/api/stats")
    assert response.status == 200
    body = await response.json()
    today = dt.date.fromisoformat(body["as_of"])
    assert body["org"]["code"] == "620602"
    assert body["date_from"] == today.replace(month=1, day=1).isoformat()
    assert body["date_to"] == today.isoformat()


async def test_api_scope_is_reported_as_not_found(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await login(client, "lz_super")
    unknown = await client.get("/api/stats", params={"org": "999999"})
    assert unknown.status == 404
    expected = await unknown.json()
    for code in ("620621", "620600", "620621001"):
        response = await client.get("/api/stats", params={"org": code, **H1_2022})
        assert response.status == 404, code
        assert await response.json() == expected
    below = await client.get("/api/stats", params={"org": "620602001001", **H1_2022})
    assert below.status == 200


async def test_api_bad_input_names_the_fields(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    await login(client, "city_super")

    async def fields(params: dict[str, str]) -> dict[str, str]:
        response = await client.get("/api/stats", params=params)
        assert response.status == 422, params
        return dict((await response.json())["error"]["fields"])

    assert set(await fields({"from": "2022-13-01"})) == {"from"}
    assert set(await fields({"from": "2022-06-30", "to": "yesterday"})) == {"to"}
    reversed_ = await fields({"from": "2022-06-30", "to": "2022-01-01"})
    assert set(reversed_) == {"to"}
    assert "早于" in reversed_["to"]
    assert set(await fields({"org": "620600", "date_from": "2022-01-01"})) == {"date_from"}
    assert set(await fields({"from": "2000-01-01", "to": "2022-01-01"})) == {"from"}
    assert set(await fields({"org": "x" * 33})) == {"org"}
    # A mediation room is in scope but keeps no figures of its own.
    assert set(await fields({"org": "620602-R01"})) == {"org"}
    english = await client.get(
        "/api/stats",
        params={"from": "2022-06-30", "to": "2022-01-01"},
        headers={"Accept-Language": "en"},
    )
    assert english.status == 422
    assert "before the start" in (await english.json())["error"]["fields"]["to"]


async def test_api_is_for_centre_staff(client: TestClient, world: World) -> None:  # type: ignore[type-arg]
    assert (await client.get("/api/stats")).status == 401
    for username in ("lz_mediator", "lz_judge"):
        await login(client, username)
        response = await client.get("/api/stats")
        assert response.status == 403, username
    await login(client, "village_clerk")
    assert (await client.get("/api/stats")).status == 200


async def test_api_is_documented(client: TestClient) -> None:  # type: ignore[type-arg]
    document = await (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/stats"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"org", "from", "to"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["title"] == "DashboardFigures"
    assert {"accepted", "mediated", "success_rate", "by_type", "by_child"} <= set(
        schema["properties"]
    )
    assert "422" in operation["responses"]


# --- the monthly rollup ------------------------------------------------------------------


async def _rollup_and_recount(
    db: AsyncSession,
) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """The rollup as the triggers left it (rows summing to nothing left out), and a recount
    of it from the cases and ratings as they are now."""
    await db.commit()  # a fresh snapshot of what the app committed
    rebuild = rebuild_case_month_stats_sql(db.get_bind().dialect.name)
    recount = (await db.execute(text(rebuild[rebuild.index("SELECT") :]))).all()
    kept = (
        await db.execute(
            text(
                "SELECT scope_path, month, dispute_type, lane, accepted, mediated, closed, "
                "closed_late, days_to_close, rating_sum, rating_count FROM case_month_stats "
                "WHERE accepted <> 0 OR rating_count <> 0"
            )
        )
    ).all()
    await db.commit()
    return {tuple(map(str, r)) for r in kept}, {tuple(map(str, r)) for r in recount}


async def _live_figures(
    db: AsyncSession, org: Organisation, date_from: dt.date, date_to: dt.date, today: dt.date
) -> DashboardFigures:
    """The dashboard counted from the cases alone, day by day (what the rollup must equal)."""
    centres = await centres_below(db, org.path)
    found = Aggregates()
    parts = live_parts(
        db.get_bind().dialect.name, [c.path for c in centres], [(date_from, date_to)], today, found
    )
    await run_concurrently(db, parts)
    me = Centre(org.id, org.code, org.name, OrgKind(org.kind), org.path, org.parent_id)
    return assemble(me, centres, found, date_from, date_to, today)


PERIODS = [
    (D(2022, 1, 1), D(2022, 6, 30)),  # whole months
    (D(2021, 12, 31), D(2022, 7, 1)),  # a day either side
    (D(2022, 1, 2), D(2022, 6, 29)),  # edges inside the first and last month
    (D(2022, 3, 10), D(2022, 3, 20)),  # inside one month
    (D(2020, 1, 1), D(2026, 12, 31)),  # by year
]


def test_periods_split_into_whole_months_and_edge_days() -> None:
    assert split_period(D(2022, 1, 1), D(2022, 6, 30)) == Split((D(2022, 1, 1), D(2022, 6, 1)), [])
    assert split_period(D(2022, 1, 2), D(2022, 6, 29)) == Split(
        (D(2022, 2, 1), D(2022, 5, 1)),
        [(D(2022, 1, 2), D(2022, 1, 31)), (D(2022, 6, 1), D(2022, 6, 29))],
    )
    assert split_period(D(2022, 3, 10), D(2022, 3, 20)) == Split(
        None, [(D(2022, 3, 10), D(2022, 3, 20))]
    )
    assert split_period(D(2024, 2, 1), D(2024, 2, 29)) == Split((D(2024, 2, 1), D(2024, 2, 1)), [])


async def test_dashboard_from_the_rollup_equals_a_live_count(
    db: AsyncSession, world: World
) -> None:
    await seed_cases(db, world)
    for code in ("620600", "620602", "620621001"):
        for date_from, date_to in PERIODS:
            org = world.orgs[code]
            assert await dashboard_figures(
                db, org, date_from, date_to, AS_OF
            ) == await _live_figures(db, org, date_from, date_to, AS_OF), (code, date_from)
    kept, recount = await _rollup_and_recount(db)
    assert kept == recount and len(kept) == 10


async def test_rollup_follows_a_case_through_its_life(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
    settings: Settings,
) -> None:
    async def same() -> None:
        kept, recount = await _rollup_and_recount(db)
        assert kept == recount
        today = settings.today()
        start = today.replace(month=1, day=1)
        city = world.orgs["620600"]
        f = await dashboard_figures(db, city, start, today, today)
        assert f == await _live_figures(db, city, start, today, today)

    lz = await act_as(client, "lz_clerk")
    first = await take_in(client, lz)
    untyped = await take_in(client, lz, dispute_type=None)
    await same()
    status, _ = await call(
        client, "POST", f"/api/cases/{untyped['id']}/register", lz, {"dispute_type": "labour"}
    )
    assert status == 200
    await same()
    city = await act_as(client, "city_super")
    status, routed = await call(
        client,
        "POST",
        f"/api/cases/{first['id']}/route",
        city,
        {"reason": "按属地分流", "target": "centre", "org_code": "620621"},
    )
    assert status == 200, routed
    await same()
    lz_super = await act_as(client, "lz_super")
    status, _ = await call(
        client, "POST", f"/api/cases/{untyped['id']}/close", lz_super, {"outcome": "mediated"}
    )
    assert status == 200
    await same()
    db.add(Rating(case_id=untyped["id"], party_id=untyped["parties"][0]["id"], score=4))
    await same()
    status, filed = await call(client, "POST", "/api/public/disputes", None, online_dispute())
    assert status == 201
    await same()
    lz = await act_as(client, "lz_clerk")
    status, _ = await call(
        client, "POST", f"/api/cases/{filed['reference']}/decline", lz, {"reason": "不属于受理范围"}
    )
    assert status == 200
    await same()
    status, filed = await call(client, "POST", "/api/public/disputes", None, online_dispute())
    status, _ = await call(
        client, "POST", f"/api/cases/{filed['reference']}/accept", lz, {"dispute_type": "land"}
    )
    assert status == 200
    await same()

    today = settings.today()
    f = await dashboard_figures(db, world.orgs["620600"], today.replace(day=1), today, today)
    assert (f.accepted, f.mediated, f.closed) == (3, 1, 1)
    assert (f.satisfaction.average, f.satisfaction.count) == (4.0, 1)
    assert {u.code: u.accepted for u in f.by_child} == {"620602": 2, "620621": 1}


async def test_rollup_is_rebuilt_by_a_downgrade_and_upgrade(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    from alembic import command

    await seed_cases(db, world)
    before, _ = await _rollup_and_recount(db)
    await db.close()
    config = alembic_config(settings)
    await asyncio.to_thread(command.downgrade, config, "0006_covering_stats_index")
    await asyncio.to_thread(command.upgrade, config, "head")
    after, recount = await _rollup_and_recount(db)
    assert after == before == recount
    # The triggers came back too.
    await _case(db, world, "620621", D(2022, 4, 30), outcome=Outcome.MEDIATED, ratings=(5,))
    city = world.orgs["620600"]
    f = await dashboard_figures(db, city, D(2022, 4, 1), D(2022, 4, 30), AS_OF)
    assert (f.accepted, f.mediated, f.satisfaction.count) == (3, 1, 1)
    kept, recount = await _rollup_and_recount(db)
    assert kept == recount
