"""A real S3 server for tests: moto's standalone server (``moto_server``, a dev dependency) on
a free local port, started once per test run and stopped at its end.

``BILIN_TEST_S3_URL`` (e.g. a MinIO the test command started) is used instead when set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "bilin-test"
SECRET_KEY = "bilin-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's S3 server; returns the process and its URL once it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):  # noqa: S310 (local)
                return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """The URL of a running S3-compatible server."""
    url = os.environ.get("BILIN_TEST_S3_URL")
    if url:
        yield url
        return
    process, url = start_moto()
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
