"""The Alembic migrations, on both databases: they build exactly the schema the models describe,
seed the default time limits, make the timeline append-only, and can be undone and redone."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import pkgutil
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, UniqueConstraint, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import server.db
from server.db import Base
from server.db.engine import create_engine
from server.db.migrate import alembic_config
from server.settings import Settings
from tests.server.test_workflow import scalar


def _all_models() -> None:
    """Import every module of ``server.db`` so the metadata holds every model."""
    for module in pkgutil.iter_modules(server.db.__path__):
        importlib.import_module(f"server.db.{module.name}")


def _redundant(difference: Any) -> bool:
    """A unique constraint on exactly the primary key's columns (PostgreSQL reflection does
    not report it separately; it adds nothing to the key)."""
    if difference[0] != "add_constraint" or not isinstance(difference[1], UniqueConstraint):
        return False
    constraint = difference[1]
    table = Base.metadata.tables[constraint.table.name]
    return {c.name for c in constraint.columns} == {c.name for c in table.primary_key.columns}


def _differences(connection: Connection) -> list[Any]:
    _all_models()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if not _redundant(d)]


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_default_time_limits_are_seeded(db: AsyncSession) -> None:
    rows = (await db.execute(text("SELECT lane, dispute_type, days FROM deadline_rules"))).all()
    assert {("fast", "", 3), ("normal", "", 30), ("normal", "labour", 15)} <= {
        tuple(row) for row in rows
    }


async def _seed_event(conn: AsyncSession | AsyncConnection) -> None:
    """One centre, one case, one timeline entry, written directly."""
    now = dt.datetime.now(dt.UTC)
    await conn.execute(
        text(
            "INSERT INTO organisations (id, code, name, kind, path, abbreviation) "
            "VALUES (1, '620602', '凉州区综治中心', 'county', '/1/', '凉')"
        )
    )
    await conn.execute(
        text(
            "INSERT INTO cases (id, status, channel, lane, title, facts, claims, centre_id, "
            "scope_path, accepted_on, accepted_at, outcome_note, feedback_note) VALUES "
            "(1, 'accepted', 'walk_in', 'normal', 't', '', '', 1, '/1/', :day, :now, '', '')"
        ),
        {"day": now.date(), "now": now},
    )
    await conn.execute(
        text(
            "INSERT INTO case_events (case_id, at, kind, actor_label, detail) "
            "VALUES (1, :now, 'accepted', '', '{}')"
        ),
        {"now": now},
    )


async def test_timeline_rows_cannot_be_changed_or_deleted(db: AsyncSession) -> None:
    await _seed_event(db)
    await db.commit()
    for statement in (
        "UPDATE case_events SET kind = 'closed'",
        "UPDATE case_events SET detail = '{\"forged\": true}' WHERE case_id = 1",
        "DELETE FROM case_events",
        "DELETE FROM case_events WHERE case_id = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(text(statement))
        await db.rollback()
    assert await scalar(db, "SELECT kind FROM case_events") == "accepted"


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_downgrade_to_nothing_and_upgrade_again(settings: Settings) -> None:
    from alembic import command

    config = alembic_config(settings)
    await asyncio.to_thread(command.downgrade, config, "base")
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) <= {"alembic_version"}
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            tables = await conn.run_sync(_table_names)
            assert {"cases", "case_events", "staff", "organisations"} <= tables
            assert await conn.run_sync(_differences) == []
            # The triggers came back with the table.
            await _seed_event(conn)
            await conn.commit()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("DELETE FROM case_events"))
    finally:
        await engine.dispose()
