"""Alembic environment: runs migrations on the async engine of the settings it is given."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from alembic import context
from sqlalchemy.engine import Connection

from server.db import Base
from server.db.engine import create_engine
from server.settings import Settings

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


settings = config.attributes.get("settings") or Settings.from_env()
# A thread of its own, so migrating works whether or not the caller runs an event loop.
with ThreadPoolExecutor(max_workers=1) as pool:
    pool.submit(asyncio.run, _run_async(settings)).result()
