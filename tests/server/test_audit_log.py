"""The audit log on both databases: appends form one hash chain (also when made at the same
time), the database refuses changes, and a changed, re-hashed or removed entry is reported by
the chain check (and on the audit page) at the right place."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.log import GENESIS, audit, audit_extract, entry_hash, verify_audit_chain
from server.auth.principal import StaffPrincipal
from server.db.audit import AuditEntry
from server.db.engine import create_engine, create_sessionmaker
from server.settings import Settings
from tests.world import World, login


def principal(world: World, username: str) -> StaffPrincipal:
    staff = world.staff[username]
    org = next(o for o in world.orgs.values() if o.id == staff.org_id)
    return StaffPrincipal(
        staff.id,
        username,
        staff.display_name,
        staff.role,
        org.id,
        org.code,
        org.name,
        org.kind,
        org.path,
    )


async def append_some(db: AsyncSession, world: World, count: int = 5) -> None:
    who = principal(world, "lz_court_clerk")
    for n in range(count):
        await audit(
            db,
            who,
            "playback" if n % 2 else "download",
            case_id=None,
            object_type="session",
            object_id=100 + n % 2,
            detail={"n": n, "note": "回放"},
        )
    await db.commit()


async def drop_triggers(db: AsyncSession, settings: Settings) -> None:
    if settings.database_url.startswith("postgresql"):
        await db.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        await db.execute(text("DROP TRIGGER audit_log_no_update"))
        await db.execute(text("DROP TRIGGER audit_log_no_delete"))
    await db.commit()


async def test_appends_form_a_verifiable_chain(db: AsyncSession, world: World) -> None:
    await append_some(db, world)
    check = await verify_audit_chain(db)
    assert check.intact and check.entries == 5
    extract = await audit_extract(db, 100)
    assert [row["seq"] for row in extract] == [1, 3, 5]
    assert extract[0]["prev_hash"] == GENESIS
    assert extract[0]["actor"] == {
        "kind": "staff",
        "id": world.staff["lz_court_clerk"].id,
        "name": "lz_court_clerk",
        "role": "court_clerk",
    }
    # Each extracted entry's hash can be recomputed from the extract alone.
    for row in extract:
        entry = await db.get(AuditEntry, row["seq"])
        assert entry is not None and entry_hash(entry) == row["hash"]


async def test_concurrent_appends_form_one_chain(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    who = principal(world, "lz_mediator")

    async def one(n: int) -> None:
        async with maker() as session:
            await audit(session, who, "export", case_id=None, object_type="export", object_id=n)
            await asyncio.sleep(0)  # let the others queue on the head meanwhile
            await session.commit()

    try:
        await asyncio.gather(*(one(n) for n in range(8)))
    finally:
        await engine.dispose()
    check = await verify_audit_chain(db)
    assert check.intact and check.entries == 8


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor_name = 'x'", "DELETE FROM audit_log"]
)
async def test_the_database_refuses_changes(db: AsyncSession, world: World, statement: str) -> None:
    await append_some(db, world, 2)
    with pytest.raises(DBAPIError):
        await db.execute(text(statement))
    await db.rollback()
    assert (await verify_audit_chain(db)).intact


async def test_a_changed_entry_is_named(
    db: AsyncSession, world: World, settings: Settings, client: TestClient
) -> None:
    await append_some(db, world)
    await drop_triggers(db, settings)
    await db.execute(text("UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 3"))
    await db.commit()
    check = await verify_audit_chain(db)
    assert not check.intact
    assert (check.broken_at, check.reason) == (3, "hash")

    # The audit page's chain check says the same to the centre.
    await login(client, "admin")
    page = await (await client.get("/audit?verify=1")).text()
    assert "chain-broken" in page and "第 3 条" in page


async def test_a_rehashed_entry_breaks_the_next_link(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    await append_some(db, world)
    await drop_triggers(db, settings)
    entry = await db.get(AuditEntry, 2)
    assert entry is not None
    entry.detail = '{"n": 99}'
    entry.hash = entry_hash(entry)  # a forger who re-hashes the entry they changed
    await db.commit()
    check = await verify_audit_chain(db)
    assert (check.intact, check.broken_at, check.reason) == (False, 3, "link")


async def test_removed_entries_are_found(
    db: AsyncSession, world: World, settings: Settings
) -> None:
    await append_some(db, world)
    await drop_triggers(db, settings)
    await db.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    await db.commit()
    check = await verify_audit_chain(db)
    assert (check.intact, check.broken_at, check.reason) == (False, 5, "truncated")
    await db.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    await db.commit()
    check = await verify_audit_chain(db)
    assert (check.intact, check.broken_at, check.reason) == (False, 2, "missing")
