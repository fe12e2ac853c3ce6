"""The Wuwei City demo data (``bilin demo``).

Loads, in one transaction: the organisation tree of 武威市 (``orgs``), one account per role
(``accounts``), the 3,436 disputes of the first half of 2022 that reproduce the published
figures (``history``) and a handful of current cases in every workflow state (``current``).
Running it again adds only what is missing, so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, Organisation
from server.db.base import subtree_range
from server.db.engine import create_engine, create_sessionmaker
from server.demo.accounts import ACCOUNTS, DEMO_PASSWORD, account_table, ensure_accounts
from server.demo.current import add_current_cases
from server.demo.history import (
    History,
    deadline_table,
    history_exists,
    numbers_taken,
)
from server.demo.orgs import CITY, ensure_orgs
from server.settings import Settings

__all__ = ["DEMO_PASSWORD", "DemoResult", "load_demo"]


class DemoRefused(SystemExit):
    """The demo is not loaded into this database (a production one)."""


@dataclass(frozen=True)
class DemoResult:
    """What one run found and added."""

    organisations: int
    accounts: int
    cases: int
    added_organisations: int
    added_accounts: int
    added_cases: int


async def load_demo(settings: Settings, out: TextIO) -> DemoResult:
    """Create the demo organisations, accounts and cases (idempotent); print the accounts."""
    if settings.environment == "production":
        # The accounts' password is printed and published: never in a production database.
        raise DemoRefused("bilin: the demo data is not loaded when BILIN_ENV=production")
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as db:
            result, orgs = await _load(db, settings)
            await db.commit()
    finally:
        await engine.dispose()
    _report(settings, result, orgs, out)
    return result


async def _load(db: AsyncSession, settings: Settings) -> tuple[DemoResult, dict[str, str]]:
    orgs, added_orgs = await ensure_orgs(db)
    staff, added_accounts = await ensure_accounts(db)
    # Principals read each account's organisation: load them with it.
    for account in staff.values():
        await db.refresh(account, ["org"])
    added_cases = 0
    if not await history_exists(db):
        history = History(
            orgs,
            staff,
            await deadline_table(db),
            settings.timezone,
            await numbers_taken(db, orgs),
        )
        plans = history.generate()
        await history.write(db, plans)
        added_cases += len(plans)
    added_cases += await add_current_cases(db, staff, settings.today(), settings.timezone)
    await db.flush()
    low, high = subtree_range(orgs[CITY].path)
    in_city = (Organisation.path >= low) & (Organisation.path < high)
    organisations = await db.scalar(select(func.count()).select_from(Organisation).where(in_city))
    cases = await db.scalar(
        select(func.count()).select_from(Case).where(Case.scope_path >= low, Case.scope_path < high)
    )
    result = DemoResult(
        organisations=int(organisations or 0),
        accounts=len(ACCOUNTS),
        cases=int(cases or 0),
        added_organisations=added_orgs,
        added_accounts=added_accounts,
        added_cases=added_cases,
    )
    return result, {code: org.name for code, org in orgs.items()}


def _report(settings: Settings, result: DemoResult, org_names: dict[str, str], out: TextIO) -> None:
    print(
        f"Wuwei City demo (武威市): {result.organisations} organisations, "
        f"{result.accounts} accounts, {result.cases:,} cases.",
        file=out,
    )
    if result.added_organisations or result.added_accounts or result.added_cases:
        print(
            f"Added now: {result.added_organisations} organisations, {result.added_accounts} "
            f"accounts, {result.added_cases:,} cases.",
            file=out,
        )
    else:
        print("It was already loaded: nothing changed.", file=out)
    print(file=out)
    print(f"Demo accounts (one password for all: {DEMO_PASSWORD}):", file=out)
    for line in account_table(org_names):
        print(f"  {line}", file=out)
    print(file=out)
    print(
        f"Run `bilin serve`, open {settings.base_url}/ and log in with one of these accounts.",
        file=out,
    )
