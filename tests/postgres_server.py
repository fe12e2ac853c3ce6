"""The PostgreSQL server of ``scripts/postgres.sh``, shared by the tests and the benchmarks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def postgres_url() -> str:
    """The URL of ``bilin_test``: ``BILIN_TEST_PG_URL`` (set by the test command), or the server
    that ``scripts/postgres.sh`` starts (installing PostgreSQL first if needed)."""
    url = os.environ.get("BILIN_TEST_PG_URL")
    if url:
        return url
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
        check=True,
        capture_output=True,
        text=True,
    )
    url = out.stdout.strip().splitlines()[-1]
    os.environ["BILIN_TEST_PG_URL"] = url
    return url
