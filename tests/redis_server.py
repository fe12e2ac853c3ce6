"""A throwaway Redis server for the tests that need one (``BILIN_TEST_REDIS_URL`` when the
test command started it already)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PORT = int(os.environ.get("BILIN_REDIS_PORT", "56379"))
DIR = Path(os.environ.get("BILIN_REDIS_DIR", "/tmp/bilin-redis"))


def redis_url() -> str:
    """The URL of a running Redis server, starting one on ``PORT`` if needed."""
    url = os.environ.get("BILIN_TEST_REDIS_URL")
    if url:
        return url
    url = f"redis://127.0.0.1:{PORT}/0"
    cli = shutil.which("redis-cli")
    server = shutil.which("redis-server")
    if server is None or cli is None:
        raise RuntimeError("redis-server is not installed (scripts/setup.sh --dev installs it)")
    ping = subprocess.run(
        [cli, "-p", str(PORT), "ping"], capture_output=True, text=True, check=False
    )
    if ping.stdout.strip() != "PONG":
        DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                server,
                "--port",
                str(PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(DIR),
                "--logfile",
                str(DIR / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(
                [cli, "-p", str(PORT), "ping"], capture_output=True, text=True, check=False
            )
            if ping.stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
    os.environ["BILIN_TEST_REDIS_URL"] = url
    return url


def redis_db_url(slot: int) -> str:
    """A Redis database of this test process's own (``slot`` 0 or 1): each pytest-xdist
    worker gets two of the server's sixteen databases, so parallel tests never share keys."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = int(worker[2:]) if worker[2:].isdigit() else 0
    index = 2 + 2 * number + slot
    if index > 15:
        raise RuntimeError("too many test processes for Redis' 16 databases")
    return redis_url().rsplit("/", 1)[0] + f"/{index}"
