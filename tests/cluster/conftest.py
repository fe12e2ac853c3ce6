"""A real multi-worker deployment on this machine: PostgreSQL, Redis, HAProxy and three
``bilin serve --worker`` processes, started the way ``scripts/cluster.sh`` starts them
(``bilin serve --workers 3``), each test with its own database and Redis database."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.postgres_server import postgres_url
from tests.redis_server import redis_db_url

ROOT = Path(__file__).resolve().parents[2]
BILIN = str(Path(sys.executable).parent / "bilin")


def _port_block(size: int) -> int:
    """A port P with P … P+size-1 all free on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + size >= 65535:
            continue
        free = True
        for port in range(base, base + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no block of free ports")


def _admin(sql: str) -> None:
    base = postgres_url().rsplit("/", 1)[0] + "/postgres"

    async def run() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@dataclass
class Cluster:
    """A running deployment."""

    url: str
    env: dict[str, str]
    data_dir: Path
    supervisor: subprocess.Popen[bytes]
    redis_url: str

    def roster(self) -> list[dict[str, Any]]:
        """``workers.json``: id, host, port, pid of each worker."""
        data: list[dict[str, Any]] = json.loads((self.data_dir / "workers.json").read_text())
        return data

    def worker_url(self, worker_id: str) -> str:
        """A worker's own address (bypassing the balancer)."""
        entry = next(w for w in self.roster() if w["id"] == worker_id)
        return f"http://{entry['host']}:{entry['port']}"

    def kill(self, worker_id: str) -> None:
        """SIGKILL one worker, as a crashed machine would end it."""
        entry = next(w for w in self.roster() if w["id"] == worker_id)
        os.kill(int(entry["pid"]), signal.SIGKILL)

    def demo_session(self) -> dict[str, Any]:
        """A new case with a hearing starting now (``bilin demo-session``); its links."""
        out = subprocess.run(
            [BILIN, "demo-session"], env=self.env, check=True, capture_output=True, text=True
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def _wait_ready(url: str, workers: int, supervisor: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert supervisor.poll() is None, "bilin serve --workers exited"
        try:
            # Every worker up behind the balancer: /metrics names the worker that answered.
            seen = set()
            for _ in range(workers * 3):
                with urllib.request.urlopen(f"{url}/metrics", timeout=2) as response:  # noqa: S310
                    for line in response.read().decode().splitlines():
                        if line.startswith("bilin_worker_info{"):
                            seen.add(line.split('"')[1])
            if len(seen) == workers:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError("the cluster did not come up in 90 s")


@contextmanager
def run_cluster(tmp_path: Path, workers: int = 3, **env_overrides: str) -> Iterator[Cluster]:
    """Start ``bilin serve --workers N`` on a fresh database; stop it afterwards."""
    name = f"bilin_c_{secrets.token_hex(5)}"
    _admin(f'CREATE DATABASE "{name}"')
    database_url = postgres_url().rsplit("/", 1)[0] + "/" + name
    redis_db = redis_db_url(0)
    subprocess.run(["redis-cli", "-u", redis_db, "flushdb"], check=True, capture_output=True)
    port = _port_block(workers + 1)
    data_dir = tmp_path / "cluster"
    env = dict(os.environ)
    env.update(
        BILIN_ENV="test",
        BILIN_DATA_DIR=str(data_dir),
        BILIN_DATABASE_URL=database_url,
        BILIN_REDIS_URL=redis_db,
        BILIN_HOST="127.0.0.1",
        BILIN_PORT=str(port),
        BILIN_PUBLIC_URL=f"http://127.0.0.1:{port}",
        BILIN_RECORDING_MIN_FREE_MB="50",
    )
    env.update(env_overrides)
    env.pop("BILIN_WORKER_ID", None)
    log = (tmp_path / "cluster.log").open("wb")
    supervisor = subprocess.Popen(
        [BILIN, "serve", "--workers", str(workers), "--restart-delay", "600"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, workers, supervisor)
        yield Cluster(url, env, data_dir, supervisor, redis_db)
    finally:
        if supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)
            try:
                supervisor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)
                supervisor.wait()
        log.close()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Three workers behind HAProxy."""
    with run_cluster(tmp_path) as running:
        yield running
