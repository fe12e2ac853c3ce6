"""The ``bilin`` console script, run as an administrator would: ``user add`` with the password
on standard input, ``db upgrade``, and the settings it refuses to start with."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from server.settings import DEFAULT_SECRET_KEY, Settings
from tests.server.test_workflow import Client, call, scalar
from tests.world import World

BILIN = Path(sys.executable).parent / "bilin"


@dataclass
class Run:
    """What a command did."""

    code: int
    out: str
    err: str


async def bilin(*args: str, stdin: str = "", **env: str) -> Run:
    """Run the installed console script with ``BILIN_*`` variables from ``env`` only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BILIN_")}
    process = await asyncio.create_subprocess_exec(
        str(BILIN),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, **env},
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def env_for(settings: Settings) -> dict[str, str]:
    """The environment pointing the command at the test's database."""
    return {
        "BILIN_DATA_DIR": str(settings.data_dir),
        "BILIN_DATABASE_URL": settings.database_url,
    }


async def test_user_add_reads_the_password_from_standard_input(
    client: Client, world: World, db: AsyncSession, settings: Settings
) -> None:
    password = "a long enough password"
    run = await bilin(
        "user",
        "add",
        "wang.judge",
        "--role",
        "judge",
        "--org",
        "620602-C01",
        "--name",
        "王法官",
        stdin=password + "\n",
        **env_for(settings),
    )
    assert run.code == 0, run.err
    assert "created judge wang.judge" in run.out
    assert password not in run.out + run.err
    stored = await scalar(db, "SELECT password_hash FROM staff WHERE username = 'wang.judge'")
    assert stored.startswith("$argon2id$") and password not in stored
    assert await scalar(db, "SELECT display_name FROM staff WHERE username = 'wang.judge'") == (
        "王法官"
    )
    # The new account logs in with that password, as a judge of that court.
    status, body = await call(
        client, "POST", "/api/login", None, {"username": "wang.judge", "password": password}
    )
    assert status == 200, body
    assert (body["me"]["role"], body["me"]["org_code"]) == ("judge", "620602-C01")


async def test_user_add_refusals_exit_2_with_a_clear_message(
    world: World, db: AsyncSession, settings: Settings
) -> None:
    env = env_for(settings)
    staff_before = await scalar(db, "SELECT count(*) FROM staff")
    cases = [
        (["newbie", "--role", "chief", "--org", "620602"], "invalid choice: 'chief'"),
        (["newbie", "--role", "mediator", "--org", "999999"], "no organisation with code '999999'"),
        (
            ["newbie", "--role", "judge", "--org", "620602"],
            "a judge belongs to a court, not a county",
        ),
        (
            ["newbie", "--role", "department_liaison", "--org", "620602-C01"],
            "a department_liaison belongs to a department, not a court",
        ),
        (["lz_clerk", "--role", "intake_clerk", "--org", "620602"], "username 'lz_clerk' is taken"),
        (["bad name!", "--role", "intake_clerk", "--org", "620602"], "username must be"),
    ]
    for args, message in cases:
        run = await bilin("user", "add", *args, stdin="a long enough password\n", **env)
        assert run.code == 2, (args, run.out, run.err)
        assert message in run.err, (args, run.err)
    run = await bilin(
        "user", "add", "newbie", "--role", "intake_clerk", "--org", "620602", stdin="short\n", **env
    )
    assert run.code == 2
    assert "password must be at least 8 characters" in run.err
    run = await bilin("user", "add", "newbie", "--role", "intake_clerk", "--org", "620602", **env)
    assert run.code == 2  # no password at all
    assert await scalar(db, "SELECT count(*) FROM staff") == staff_before


async def test_db_upgrade_is_repeatable(world: World, db: AsyncSession, settings: Settings) -> None:
    run = await bilin("db", "upgrade", **env_for(settings))
    assert run.code == 0, run.err
    assert "database at head" in run.out
    # Nothing was lost by upgrading an up-to-date database.
    assert await scalar(db, "SELECT count(*) FROM staff") == len(world.staff)


async def test_db_upgrade_creates_a_fresh_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    run = await bilin("db", "upgrade", BILIN_DATA_DIR=str(data_dir))
    assert run.code == 0, run.err
    assert (data_dir / "bilin.sqlite3").exists()
    import sqlite3

    with sqlite3.connect(data_dir / "bilin.sqlite3") as conn:
        rules = conn.execute(
            "SELECT lane, dispute_type, days FROM deadline_rules ORDER BY lane, dispute_type"
        ).fetchall()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert ("fast", "", 3) in rules
    assert ("normal", "", 30) in rules
    assert ("normal", "labour", 15) in rules
    assert {"cases", "case_events", "staff", "web_sessions"} <= tables


async def test_settings_refused_in_production(tmp_path: Path) -> None:
    data = str(tmp_path)
    run = await bilin("db", "upgrade", BILIN_ENV="production", BILIN_DATA_DIR=data)
    assert run.code == 2
    assert "BILIN_SECRET_KEY is still the development default" in run.err
    run = await bilin(
        "db",
        "upgrade",
        BILIN_ENV="production",
        BILIN_SECRET_KEY=DEFAULT_SECRET_KEY,
        BILIN_DATA_DIR=data,
    )
    assert run.code == 2
    run = await bilin(
        "db", "upgrade", BILIN_ENV="production", BILIN_SECRET_KEY="too-short", BILIN_DATA_DIR=data
    )
    assert run.code == 2
    assert "at least 32 characters" in run.err
    run = await bilin("db", "upgrade", BILIN_ENV="staging", BILIN_DATA_DIR=data)
    assert run.code == 2
    assert "BILIN_ENV must be development, test or production" in run.err
    run = await bilin("serve", BILIN_PORT="eighty", BILIN_DATA_DIR=data)
    assert run.code == 2
    assert "BILIN_PORT must be a number" in run.err
    # Nothing was created by a refused start.
    assert not (tmp_path / "bilin.sqlite3").exists()
    run = await bilin(
        "db", "upgrade", BILIN_ENV="production", BILIN_SECRET_KEY="k" * 48, BILIN_DATA_DIR=data
    )
    assert run.code == 0, run.err
