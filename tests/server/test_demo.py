"""``bilin demo``: the Wuwei City demo data, on both databases.

What a user of the demo notices: it loads once and a second run changes nothing; the printed
accounts log in; the first half of 2022 shows Wuwei's published figures; the current cases
show every state of the workflow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.db import (
    Case,
    CaseEvent,
    CaseNumberCounter,
    Consultation,
    FollowUp,
    Organisation,
    Party,
    Rating,
    Routing,
    Staff,
    Summons,
    Supervision,
)
from server.db.base import Base
from server.demo import DEMO_PASSWORD, load_demo
from server.settings import Settings
from server.validation import id_number_check_digit
from server.vocabulary import CaseStatus, DisputeType, OrgKind, Outcome
from tests.conftest import _server_url
from tests.postgres_server import postgres_url

H1 = (dt.date(2022, 1, 1), dt.date(2022, 6, 30))
PUBLISHED = {
    DisputeType.MARRIAGE_FAMILY: 579,
    DisputeType.NEIGHBOUR: 792,
    DisputeType.LABOUR: 563,
    DisputeType.LAND: 388,
}
TABLES: tuple[type[Base], ...] = (
    Organisation,
    Staff,
    Case,
    Party,
    CaseEvent,
    Routing,
    Supervision,
    Consultation,
    Summons,
    Rating,
    FollowUp,
    CaseNumberCounter,
)


@cache
def cheap_hash(password: str) -> str:
    # Argon2 verification reads its cost from the hash itself: a low-cost hash logs in fast.
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


def load_once(settings: Settings) -> str:
    """Load the demo (in a thread with its own event loop); returns what it printed."""
    with pytest.MonkeyPatch.context() as patch:
        # Argon2 is slow on purpose; the accounts get a cheap hash of the same password.
        patch.setattr("server.accounts.hash_password", cheap_hash)
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run_demo(settings)).result()


@pytest.fixture(scope="module")
def first_outputs() -> dict[str, str]:
    """What the first run printed, per backend."""
    return {}


# The demo is loaded once per backend into the databases every test of this module starts
# from (the conftest fixtures of the same name are the migrated, empty templates).


@pytest.fixture(scope="module")
def sqlite_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, first_outputs: dict[str, str]
) -> Path:
    """A migrated SQLite file with the demo loaded."""
    data_dir = tmp_path_factory.mktemp("sqlite-demo")
    shutil.copy(sqlite_template, data_dir / "bilin.sqlite3")
    first_outputs["sqlite"] = load_once(Settings(environment="test", data_dir=data_dir))
    return data_dir / "bilin.sqlite3"


@pytest.fixture(scope="module")
def pg_template(pg_template: str, first_outputs: dict[str, str]) -> Iterator[str]:
    """A PostgreSQL database with the demo loaded."""
    base = postgres_url()
    name = f"bilin_demo_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(_server_url(base), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    def run(sql: str) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    first_outputs["postgresql"] = load_once(Settings(environment="test", database_url=url))
    yield name
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_demo(settings: Settings) -> str:
    out = io.StringIO()
    await load_demo(settings, out)
    return out.getvalue()


def printed_accounts(output: str) -> list[tuple[str, str]]:
    """(username, password) of every row of the printed account table."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("username"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        rows.append((cells[0], cells[-1]))
    return rows


def account_section(output: str) -> str:
    return output[output.index("Demo accounts") :]


async def row_counts(db: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in TABLES:
        counts[model.__tablename__] = int(
            await db.scalar(select(func.count()).select_from(model)) or 0
        )
    counts["counter_total"] = int(await db.scalar(select(func.sum(CaseNumberCounter.last))) or 0)
    return counts


async def test_second_run_changes_nothing(
    settings: Settings, db: AsyncSession, backend: str, first_outputs: dict[str, str]
) -> None:
    first = first_outputs[backend]
    before = await row_counts(db)
    second = await run_demo(settings)
    after = await row_counts(db)

    assert "Added now: 111 organisations, 20 accounts" in first
    assert after == before
    assert before["cases"] >= 3436 + 10
    assert "nothing changed" in second
    assert account_section(second) == account_section(first)
    assert "http://127.0.0.1:8080/" in second


async def test_half_year_figures_and_current_cases(settings: Settings, db: AsyncSession) -> None:
    city = (
        await db.execute(select(Organisation).where(Organisation.code == "620600"))
    ).scalar_one()
    in_city = Case.scope_path.startswith(city.path)
    in_h1 = Case.accepted_on.between(*H1)

    async def count(*where: ColumnElement[bool]) -> int:
        return int(await db.scalar(select(func.count()).select_from(Case).where(*where)) or 0)

    # The published table, counted directly in the database.
    assert await count(in_city, in_h1) == 3436
    assert await count(in_city, in_h1, Case.outcome == Outcome.MEDIATED) == 3410
    assert await count(in_city, in_h1, Case.outcome == Outcome.NOT_MEDIATED) == 26
    assert await count(in_h1, Case.outcome == Outcome.NOT_MEDIATED, Case.next_step.is_(None)) == 0
    by_type = dict(
        (
            await db.execute(
                select(Case.dispute_type, func.count())
                .where(in_city, in_h1)
                .group_by(Case.dispute_type)
            )
        ).all()
    )
    for dispute_type, published in PUBLISHED.items():
        assert by_type[dispute_type] == published
    assert sum(n for t, n in by_type.items() if t not in PUBLISHED) == 1114
    # Closed within the half-year, after acceptance; every level and lane has some.
    assert await count(in_h1, Case.status != CaseStatus.CLOSED) == 0
    assert await count(in_h1, (Case.closed_on < Case.accepted_on) | (Case.closed_on > H1[1])) == 0
    levels = set(
        (
            await db.execute(
                select(Organisation.kind).join(Case, Case.centre_id == Organisation.id).where(in_h1)
            )
        ).scalars()
    )
    assert levels == {OrgKind.CITY, OrgKind.COUNTY, OrgKind.TOWNSHIP, OrgKind.VILLAGE}
    assert await count(in_h1, Case.room_id.is_not(None)) > 100
    assert await count(in_h1, Case.lane == "fast") > 1000

    # Case numbers: unique, in the usual form, and each counter at its last number.
    numbers = [n for n in (await db.execute(select(Case.number))).scalars() if n is not None]
    assert len(numbers) == len(set(numbers))
    assert "(2022)凉综调字第0001号" in numbers
    pattern = re.compile(r"^\((\d{4})\)(.)综调字第(\d{4})号$")
    highest: dict[tuple[int, str], int] = {}
    for number in numbers:
        match = pattern.match(number)
        assert match, number
        key = (int(match[1]), match[2])
        highest[key] = max(highest.get(key, 0), int(match[3]))
    counters = {
        (year, abbreviation): last
        for year, abbreviation, last in (
            await db.execute(
                select(
                    CaseNumberCounter.year, Organisation.abbreviation, CaseNumberCounter.last
                ).join(Organisation, Organisation.id == CaseNumberCounter.org_id)
            )
        ).all()
    }
    assert counters == highest

    # Every half-year case has a timeline from acceptance to closure.
    kinds = (
        select(CaseEvent.case_id)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(in_h1, CaseEvent.kind.in_(("accepted", "registered", "closed")))
        .group_by(CaseEvent.case_id)
        .having(func.count(func.distinct(CaseEvent.kind)) == 3)
    )
    assert int(await db.scalar(select(func.count()).select_from(kinds.subquery())) or 0) == 3436

    # Parties' ID numbers pass the check digit.
    ids = list((await db.execute(select(Party.id_number).where(Party.id_number != ""))).scalars())
    assert len(ids) > 5000
    assert all(n[17] == id_number_check_digit(n[:17]) for n in ids)

    # The current cases show every state of the workflow, one of them overdue.
    current = Case.accepted_on > H1[1]
    statuses = set((await db.execute(select(Case.status).where(current))).scalars())
    assert statuses == set(CaseStatus)
    today = settings.today()
    assert (
        await count(
            current,
            Case.status.in_(("registered", "routed", "mediating")),
            Case.deadline_on < today,
        )
        == 1
    )
    laowang = (
        await db.execute(select(Organisation).where(Organisation.code == "620602-LWSL"))
    ).scalar_one()
    assert await count(current, Case.room_id == laowang.id, Case.status == CaseStatus.ROUTED) == 1
    pending = (
        await db.execute(
            select(Organisation.code, Summons.status).join(
                Organisation, Organisation.id == Summons.department_id
            )
        )
    ).all()
    assert dict(pending) == {"620602-RS": "pending", "620602-ZJ": "reported"}
    assert await count(current, Case.court_id.is_not(None)) == 1
    supervised = select(func.count()).select_from(Supervision).join(Case).where(current)
    assert int(await db.scalar(supervised) or 0) == 1
    # Supervisors chased the half-year's cases that ran past their time limit.
    assert int(await db.scalar(select(func.count()).select_from(Supervision)) or 0) > 10
    due = (
        await db.execute(
            select(FollowUp.due_on).join(Case, Case.id == FollowUp.case_id).where(current)
        )
    ).scalar_one()
    assert due >= today


async def test_printed_accounts_log_in(
    client: TestClient,  # type: ignore[type-arg]
    backend: str,
    first_outputs: dict[str, str],
) -> None:
    accounts = printed_accounts(first_outputs[backend])
    assert len(accounts) >= 7
    roles = set()
    for username, password in accounts:
        response = await client.post(
            "/api/login", json={"username": username, "password": password}
        )
        assert response.status == 200, (username, await response.text())
        roles.add((await response.json())["me"]["role"])
    assert roles == {
        "administrator",
        "supervisor",
        "intake_clerk",
        "mediator",
        "department_liaison",
        "judge",
        "court_clerk",
    }


async def test_city_dashboard_shows_the_published_figures(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post(
        "/api/login", json={"username": "ww_admin", "password": DEMO_PASSWORD}
    )
    assert response.status == 200
    response = await client.get(
        "/api/stats", params={"org": "620600", "from": "2022-01-01", "to": "2022-06-30"}
    )
    assert response.status == 200, await response.text()
    figures = await response.json()

    assert figures["accepted"] == 3436
    assert figures["mediated"] == 3410
    assert round(figures["success_rate"] * 100, 1) == 99.2
    by_type = figures["by_type"]
    for dispute_type, published in PUBLISHED.items():
        assert by_type[dispute_type.value] == published
    assert sum(n for t, n in by_type.items() if t not in PUBLISHED) == 1114
