"""Generated benchmark databases, cached under ``var/bench/`` so reruns skip loading.

A database is created empty, migrated with :func:`server.db.migrate.upgrade`, then filled with
bulk inserts: ``executemany`` in one transaction on SQLite, ``COPY`` (asyncpg's
``copy_records_to_table``) on PostgreSQL. Secondary indexes are dropped for the load and built
afterwards, which is several times faster than maintaining them row by row; then ``ANALYZE``.

A JSON stamp next to the cache records what was generated; a database whose stamp does not
match (another size, another generator version) is rebuilt. A cached database is still
upgraded to the newest migration on every run, so new migrations are measured on old data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]

from bench.data import COLUMNS, GENERATOR_VERSION, SEED, CaseGenerator, Tree, build_tree
from server.auth.passwords import hash_password
from server.db.migrate import upgrade
from server.db.search import rebuild_search_terms_sql
from server.db.stats_rollup import rebuild_case_month_stats_sql
from server.settings import Settings
from tests.postgres_server import postgres_url

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
PASSWORD = "bench password"  # every generated account's password
BATCH = 20_000
# Tables filled from the generated ones after the load (their indexes are built afterwards too).
DERIVED = ("case_search_terms", "case_month_stats")


@dataclass(frozen=True)
class BenchDatabase:
    """A loaded benchmark database."""

    backend: str
    cases: int
    settings: Settings
    today: dt.date
    tree: Tree
    loaded_in_s: float | None  # None when the cache was used


def label(cases: int) -> str:
    """``10k``, ``1m``: a short name for a size."""
    if cases % 1_000_000 == 0:
        return f"{cases // 1_000_000}m"
    if cases % 1_000 == 0:
        return f"{cases // 1_000}k"
    return str(cases)


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def settings_for(backend: str, cases: int) -> Settings:
    """Settings pointing at the cached database of ``backend`` with ``cases`` cases."""
    if backend == "sqlite":
        return Settings(data_dir=BENCH_DIR / f"sqlite-{label(cases)}")
    base = postgres_url().rsplit("/", 1)[0]
    return Settings(data_dir=BENCH_DIR, database_url=f"{base}/bilin_bench_{label(cases)}")


def _stamp_path(backend: str, cases: int) -> Path:
    return BENCH_DIR / f"{backend}-{label(cases)}.json"


def _wanted_stamp(cases: int) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "seed": SEED, "cases": cases}


async def ensure_database(backend: str, cases: int, *, rebuild: bool = False) -> BenchDatabase:
    """The benchmark database of ``backend`` with ``cases`` cases, generated if not cached."""
    settings = settings_for(backend, cases)
    stamp_path = _stamp_path(backend, cases)
    stamp: dict[str, Any] = {}
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
    wanted = _wanted_stamp(cases)
    fresh = rebuild or any(stamp.get(k) != v for k, v in wanted.items())
    if not fresh and not await _exists(backend, settings, cases):
        fresh = True
    loaded_in: float | None = None
    if fresh:
        stamp_path.unlink(missing_ok=True)
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        started = time.perf_counter()
        await _create_empty(backend, settings)
        await asyncio.to_thread(upgrade, settings)
        await _fill(backend, settings, cases, today)
        loaded_in = time.perf_counter() - started
        stamp = {**wanted, "today": today.isoformat(), "loaded_in_s": round(loaded_in, 1)}
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(stamp, indent=2))
    else:
        # Migrations added since the data was generated run on the cached data.
        await asyncio.to_thread(upgrade, settings)
        await _analyze(backend, settings)
    today = dt.date.fromisoformat(stamp["today"])
    # The tree is cheap to rebuild and identical to the stored one (same seed).
    tree = build_tree("", random.Random(SEED))
    return BenchDatabase(backend, cases, settings, today, tree, loaded_in)


async def _exists(backend: str, settings: Settings, cases: int) -> bool:
    if backend == "sqlite":
        path = settings.data_dir / "bilin.sqlite3"
        if not path.exists():
            return False
        with sqlite3.connect(path) as conn:
            try:
                return conn.execute("SELECT max(id) FROM cases").fetchone()[0] == cases  # type: ignore[no-any-return]
            except sqlite3.Error:
                return False
    try:
        conn = await asyncpg.connect(_dsn(settings.database_url))
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        return bool(await conn.fetchval("SELECT max(id) FROM cases") == cases)
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


async def _create_empty(backend: str, settings: Settings) -> None:
    if backend == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (settings.data_dir / f"bilin.sqlite3{suffix}").unlink(missing_ok=True)
        return
    base, name = settings.database_url.rsplit("/", 1)
    conn = await asyncpg.connect(_dsn(base + "/postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _analyze(backend: str, settings: Settings) -> None:
    if backend == "sqlite":
        with sqlite3.connect(settings.data_dir / "bilin.sqlite3") as conn:
            conn.execute("ANALYZE")
        return
    conn = await asyncpg.connect(_dsn(settings.database_url))
    try:
        # VACUUM too: rows a new migration wrote need the visibility map for index-only scans
        # (autovacuum would get there later); next to nothing to do otherwise.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


class _Writer(Protocol):
    async def begin(self) -> None: ...
    async def write(self, table: str, rows: list[tuple[object, ...]]) -> None: ...
    async def finish(self) -> None: ...


async def _fill(backend: str, settings: Settings, cases: int, today: dt.date) -> None:
    rng = random.Random(SEED)
    tree = build_tree(hash_password(PASSWORD), rng)
    writer: _Writer = (
        _SqliteWriter(settings.data_dir / "bilin.sqlite3")
        if backend == "sqlite"
        else _PostgresWriter(_dsn(settings.database_url))
    )
    await writer.begin()
    await writer.write("organisations", [o.row() for o in tree.orgs])
    await writer.write("staff", tree.staff)
    generator = CaseGenerator(tree, today, rng)
    for done, batch in enumerate(generator.batches(cases, BATCH), 1):
        for table, rows in batch.rows.items():
            if rows:
                await writer.write(table, rows)
        if done % 10 == 0:
            print(f"  … {min(done * BATCH, cases):,} cases", flush=True)
    await writer.write("case_number_counters", generator.counters())
    await writer.finish()


def _derived_sql(dialect: str) -> list[str]:
    return [rebuild_search_terms_sql(dialect), rebuild_case_month_stats_sql(dialect)]


def _sqlite_value(value: object) -> object:
    # The text forms SQLAlchemy's SQLite dialect writes and reads back.
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _SqliteWriter:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.saved: list[tuple[str, str, str]] = []

    async def begin(self) -> None:
        conn = self.conn
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA temp_store=MEMORY")
        tables = [*COLUMNS, *DERIVED]
        self.saved = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "  # noqa: S608 (no input)
            f"AND sql IS NOT NULL AND tbl_name IN ({','.join('?' * len(tables))})",
            tables,
        ).fetchall()
        for kind, name, _ in self.saved:
            conn.execute(f'DROP {kind.upper()} "{name}"')
        conn.execute("BEGIN")

    async def write(self, table: str, rows: list[tuple[object, ...]]) -> None:
        columns = COLUMNS[table]
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        self.conn.executemany(sql, [tuple(map(_sqlite_value, row)) for row in rows])

    async def finish(self) -> None:
        conn = self.conn
        print("  filling derived tables", flush=True)
        for sql in _derived_sql("sqlite"):
            conn.execute(sql)
        conn.execute("COMMIT")
        print("  building indexes", flush=True)
        for _, _, sql in sorted(self.saved, key=lambda s: s[0] != "index"):
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


class _PostgresWriter:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None
        self.saved: list[tuple[str, str]] = []

    async def begin(self) -> None:
        self.conn = conn = await asyncpg.connect(self.dsn)
        # Skips foreign-key checks and triggers during the load (the data is consistent by
        # construction); the server from scripts/postgres.sh runs as superuser.
        await conn.execute("SET session_replication_role = replica")
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = ANY($1::text[]) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [*COLUMNS, *DERIVED],
        )
        self.saved = [(r["indexname"], r["indexdef"]) for r in rows]
        for name, _ in self.saved:
            await conn.execute(f'DROP INDEX "{name}"')

    async def write(self, table: str, rows: list[tuple[object, ...]]) -> None:
        assert self.conn is not None
        await self.conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])

    async def finish(self) -> None:
        conn = self.conn
        assert conn is not None
        print("  filling derived tables", flush=True)
        await conn.execute("SET work_mem = '256MB'")
        for sql in _derived_sql("postgresql"):
            await conn.execute(sql)
        print("  building indexes", flush=True)
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for _, sql in self.saved:
            await conn.execute(sql)
        for table, columns in COLUMNS.items():
            if columns[0] == "id":
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"coalesce((SELECT max(id) FROM {table}), 1))"
                )
        await conn.execute("SET session_replication_role = origin")
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
