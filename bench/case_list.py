"""Case list, search and city dashboard: p50/p95 on generated databases.

    .venv/bin/python -m bench.case_list --sizes 10000,1000000 --backends sqlite,postgresql
    .venv/bin/python -m bench.case_list --quick          # 10k cases, fewer runs: a smoke run

Each scenario is a realistic request, timed many times after a warm-up at the function level
(a fresh AsyncSession per run, as the request middleware opens one: ``list_cases`` plus the
summaries the API returns, or ``dashboard_figures``), then a few times end to end over HTTP
(aiohttp's client against ``create_app``) to show what the request adds around it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.data import SURNAMES
from bench.load import PASSWORD, BenchDatabase, ensure_database
from bench.measure import Result, table, timed
from server.app import create_app
from server.auth.principal import StaffPrincipal
from server.auth.sessions import staff_principal
from server.db import Case, Organisation, Party, Staff
from server.db.engine import create_engine, create_sessionmaker
from server.queries.case_list import CaseListQuery, encode_cursor, list_cases
from server.queries.presenters import case_summaries
from server.vocabulary import PartyRole

LIST_TARGET_MS = 50.0
DASHBOARD_TARGET_MS = 200.0

# The accounts whose requests are measured (see bench/data.py for the tree).
CITY_ADMIN = "620600_admin"
COUNTY_SUPERVISOR = "620602_super"  # 凉州区, the busiest county
TOWNSHIP_CLERK = "620602001_clerk"  # 东大街街道, the county seat's busiest township
MEDIATOR = "620602-R01_m1"  # 老王说理室


@dataclass
class Scenario:
    """A request to time: who makes it and the query strings it cycles through."""

    name: str
    username: str
    queries: list[dict[str, str]] = field(default_factory=lambda: [{}])
    target_ms: float = LIST_TARGET_MS


async def principal(db: AsyncSession, username: str) -> StaffPrincipal:
    """The principal of an account, as the session middleware builds it."""
    staff = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
    return staff_principal(staff)


async def scenarios(db: AsyncSession, samples: int) -> list[Scenario]:
    """The measured requests, with query values drawn from the data (fixed seed)."""
    rng = random.Random(1)
    top = (await db.execute(select(Case.id).order_by(Case.id.desc()).limit(1))).scalar_one()

    ids = rng.sample(range(1, top + 1), min(top, samples * 20))
    numbered = list(
        await db.execute(
            select(Case.id, Case.number).where(Case.id.in_(ids), Case.number.is_not(None))
        )
    )[:samples]
    numbers = [str(row.number) for row in numbered]
    digits = [n[n.index("第") + 1 : -1] for n in numbers]
    digits = [d.lstrip("0") if i % 2 else d for i, d in enumerate(digits)]  # 0123 and 123
    name_rows = await db.execute(
        select(Party.name).where(
            Party.case_id.in_([row.id for row in numbered]), Party.role == PartyRole.APPLICANT
        )
    )
    names = list(name_rows.scalars())[:samples]
    surname_values = [s for s, _ in SURNAMES]
    surname_weights = [w for _, w in SURNAMES]
    surnames = rng.choices(surname_values, weights=surname_weights, k=samples)

    # Deep pages: the city's list somewhere between page 40 and page 4,000.
    deep = []
    for _ in range(min(samples, 20)):
        offset = rng.randrange(1_000, min(100_000, max(top - 100, 1_001)))
        row = (
            await db.execute(
                select(Case.accepted_at, Case.id)
                .order_by(Case.accepted_at.desc(), Case.id.desc())
                .offset(offset)
                .limit(1)
            )
        ).one_or_none()
        if row is not None:
            deep.append({"cursor": encode_cursor(Case(accepted_at=row.accepted_at, id=row.id))})

    def q(values: list[str]) -> list[dict[str, str]]:
        return [{"q": v} for v in values]

    return [
        Scenario("list: city admin, first page", CITY_ADMIN),
        Scenario("list: county supervisor, first page", COUNTY_SUPERVISOR),
        Scenario("list: township clerk, first page", TOWNSHIP_CLERK),
        Scenario("list: mediator, first page", MEDIATOR),
        Scenario("list: city admin, deep page (cursor)", CITY_ADMIN, deep or [{}]),
        Scenario("search: exact case number", CITY_ADMIN, q(numbers)),
        Scenario("search: number digits", CITY_ADMIN, q(digits)),
        Scenario("search: party full name", CITY_ADMIN, q(names)),
        Scenario("search: surname prefix", CITY_ADMIN, q(surnames)),
        Scenario("search: surname prefix, township clerk", TOWNSHIP_CLERK, q(surnames)),
        Scenario("filter: overdue, city admin", CITY_ADMIN, [{"overdue": "true"}]),
        Scenario("filter: overdue, county supervisor", COUNTY_SUPERVISOR, [{"overdue": "true"}]),
        Scenario(
            "filter: status mediating, county supervisor",
            COUNTY_SUPERVISOR,
            [{"status": "mediating"}],
        ),
        Scenario(
            "filter: type labour, township clerk", TOWNSHIP_CLERK, [{"dispute_type": "labour"}]
        ),
        Scenario(
            "filter: type + open, county supervisor",
            COUNTY_SUPERVISOR,
            [{"dispute_type": "land", "open_only": "true"}],
        ),
    ]


def dashboard_function() -> Callable[..., Awaitable[object]] | None:
    """``server.queries.stats.dashboard_figures`` if it exists yet (another engineer's work)."""
    try:
        from server.queries import stats  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    function: Callable[..., Awaitable[object]] | None = getattr(stats, "dashboard_figures", None)
    return function


def dashboard_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The period the dashboard shows by default: this year so far."""
    return dt.date(today.year, 1, 1), today


async def bench_functions(
    bench: BenchDatabase,
    sessions: async_sessionmaker[AsyncSession],
    chosen: list[Scenario],
    runs: int,
    warmup: int,
) -> list[Result]:
    """Function-level timings of every scenario, and of the city dashboard."""
    results = []
    async with sessions() as db:
        who = {s.username: await principal(db, s.username) for s in chosen}
    for scenario in chosen:
        me = who[scenario.username]
        queries = [CaseListQuery.model_validate(q) for q in scenario.queries]

        async def run(
            i: int, me: StaffPrincipal = me, queries: list[CaseListQuery] = queries
        ) -> None:
            async with sessions() as db:
                page = await list_cases(db, me, queries[i % len(queries)], bench.today)
                await case_summaries(db, page.cases, bench.today)
                await db.commit()

        p50, p95 = await timed(run, runs, warmup)
        results.append(
            Result(bench.backend, bench.cases, scenario.name, p50, p95, scenario.target_ms)
        )
        print(f"  {scenario.name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)

    dashboard = dashboard_function()
    name = "dashboard: whole city, this year"
    if dashboard is None:
        print("  server.queries.stats.dashboard_figures does not exist yet", flush=True)
        results.append(Result(bench.backend, bench.cases, name, None, None, DASHBOARD_TARGET_MS))
        return results
    date_from, date_to = dashboard_period(bench.today)
    async with sessions() as db:
        city = (
            await db.execute(select(Organisation).where(Organisation.parent_id.is_(None)))
        ).scalar_one()

    async def run_dashboard(_: int) -> None:
        async with sessions() as db:
            await dashboard(db, city, date_from, date_to, bench.today)
            await db.commit()

    dashboard_runs = max(runs // 2, 5)
    p50, p95 = await timed(run_dashboard, dashboard_runs, max(warmup // 2, 1))
    results.append(Result(bench.backend, bench.cases, name, p50, p95, DASHBOARD_TARGET_MS))
    print(f"  {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
    return results


async def bench_http(
    bench: BenchDatabase, chosen: list[Scenario], runs: int, warmup: int
) -> list[Result]:
    """End-to-end timings over HTTP: session lookup, validation, JSON, the lot."""
    results = []
    clients: dict[str, TestClient] = {}  # type: ignore[type-arg]
    try:
        for username in {s.username for s in chosen}:
            client: TestClient = TestClient(TestServer(create_app(bench.settings)))  # type: ignore[type-arg]
            await client.start_server()
            clients[username] = client
            response = await client.post(
                "/api/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status == 200, await response.text()
        for scenario in chosen:
            client = clients[scenario.username]

            async def run(i: int, client: TestClient = client, s: Scenario = scenario) -> None:  # type: ignore[type-arg]
                response = await client.get("/api/cases", params=s.queries[i % len(s.queries)])
                assert response.status == 200, await response.text()
                await response.read()

            p50, p95 = await timed(run, runs, warmup)
            results.append(
                Result(bench.backend, bench.cases, f"http: {scenario.name}", p50, p95, None)
            )
        dashboard_path = (
            await _dashboard_path(clients[CITY_ADMIN]) if CITY_ADMIN in clients else None
        )
        if dashboard_path is not None:
            client = clients[CITY_ADMIN]

            async def run_dashboard(_: int) -> None:
                response = await client.get(dashboard_path)
                assert response.status == 200, await response.text()
                await response.read()

            p50, p95 = await timed(run_dashboard, max(runs // 2, 5), 1)
            results.append(
                Result(
                    bench.backend,
                    bench.cases,
                    f"http: dashboard, this year (GET {dashboard_path})",
                    p50,
                    p95,
                    None,
                )
            )
    finally:
        for client in clients.values():
            await client.close()
    return results


async def _dashboard_path(client: TestClient) -> str | None:  # type: ignore[type-arg]
    """The JSON dashboard endpoint, if the app declares one yet."""
    spec = await (await client.get("/api/openapi.json")).json()
    for path, operations in spec.get("paths", {}).items():
        if path.startswith("/api/stats") and "get" in operations and "{" not in path:
            return str(path)
    return None


def _machine() -> str:
    """CPUs and load: other processes on the machine show up in the tails of the timings."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min) {five:.1f} (5 min)"


async def main(argv: list[str]) -> int:
    """Run the benchmark; print the command line, progress, then the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.case_list", description=__doc__)
    parser.add_argument("--sizes", default="10000,1000000", help="case counts, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10k cases only, fewer runs")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per scenario")
    parser.add_argument("--http-runs", type=int, default=30, help="timed HTTP runs per scenario")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", default="", help="run the scenarios whose name contains this")
    parser.add_argument("--no-http", action="store_true", help="skip the end-to-end numbers")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the databases")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        sizes, args.runs, args.http_runs, args.warmup = [10_000], 20, 10, 2
    command = "$ .venv/bin/python -m bench.case_list " + shlex.join(argv)
    print(command.rstrip(), flush=True)
    print(_machine(), flush=True)

    results: list[Result] = []
    for backend in args.backends.split(","):
        for size in sizes:
            print(f"{backend}, {size:,} cases: preparing the database", flush=True)
            bench = await ensure_database(backend, size, rebuild=args.rebuild)
            if bench.loaded_in_s is not None:
                print(f"  generated and loaded in {bench.loaded_in_s:.0f} s", flush=True)
            engine = create_engine(bench.settings)
            try:
                sessions = create_sessionmaker(engine)
                async with sessions() as db:
                    chosen = [s for s in await scenarios(db, samples=50) if args.only in s.name]
                results += await bench_functions(bench, sessions, chosen, args.runs, args.warmup)
            finally:
                await engine.dispose()
            if not args.no_http:
                results += await bench_http(bench, chosen, args.http_runs, min(args.warmup, 3))
    print()
    print(command.rstrip())
    print()
    print(table(results))
    print()
    print(f"at the end: {_machine()}")
    return 1 if any(r.verdict == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
