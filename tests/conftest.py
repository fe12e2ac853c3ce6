"""Shared fixtures: a real database per test (SQLite and PostgreSQL), the app, a small world.

PostgreSQL: the URL comes from ``BILIN_TEST_PG_URL`` (the test command starts the server); when
unset, ``scripts/postgres.sh`` is run to start one. Each test gets its own database, cloned from a
migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.app import create_app
from server.db.engine import create_engine, create_sessionmaker
from server.db.migrate import upgrade
from server.settings import Settings
from tests.postgres_server import postgres_url
from tests.world import World, build_world

BACKENDS = ("sqlite", "postgresql")


def _server_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    upgrade(Settings(environment="test", data_dir=data_dir))
    return data_dir / "bilin.sqlite3"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template of each test's database."""
    import asyncio

    base = postgres_url()
    name = f"bilin_tpl_{secrets.token_hex(4)}"

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

    run(f'CREATE DATABASE "{name}"')
    upgrade(Settings(environment="test", database_url=base.rsplit("/", 1)[0] + "/" + name))
    yield name
    run(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on; every database test runs on both."""
    return str(request.param)


@pytest.fixture
async def settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Settings]:
    """Settings for a fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "bilin.sqlite3")
        yield Settings(environment="test", data_dir=tmp_path)
        return
    template = request.getfixturevalue("pg_template")
    base = postgres_url()
    name = f"bilin_t_{secrets.token_hex(6)}"
    engine = create_async_engine(_server_url(base), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield Settings(
            environment="test",
            data_dir=tmp_path,
            database_url=base.rsplit("/", 1)[0] + "/" + name,
        )
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's database (for arranging data and checking what was saved)."""
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


@pytest.fixture
async def world(db: AsyncSession) -> World:
    """A small organisation tree with one account per role (see ``tests/world.py``)."""
    result = await build_world(db)
    await db.commit()
    return result


@pytest.fixture
async def client(settings: Settings, aiohttp_client: object) -> TestClient:  # type: ignore[type-arg]
    """An HTTP client for the app on the test's database."""
    return await aiohttp_client(create_app(settings))  # type: ignore[operator, no-any-return]
