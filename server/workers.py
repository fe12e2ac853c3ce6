"""``bilin serve --workers N``: one media worker process per core behind HAProxy.

The supervisor migrates the database once, writes the balancer's configuration, starts
HAProxy on the public port and N workers (``bilin serve --worker``) on the ports after it,
and restarts a worker that dies (after ``restart_delay_s``, so its hearings have moved to the
others first). Several machines each run their own supervisor with ``--worker-prefix`` and
one balancer lists them all (``bilin haproxy-config``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from server.balancer import WorkerAddress, haproxy_config
from server.settings import Settings

logger = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """The configuration cannot run several workers."""


def check_cluster_settings(settings: Settings) -> None:
    """Several workers share state through Redis and PostgreSQL, not SQLite or memory."""
    if not settings.redis_url:
        raise ClusterError("several workers need BILIN_REDIS_URL (which worker holds which room)")
    if settings.database_url.startswith("sqlite"):
        raise ClusterError(
            "several workers need PostgreSQL (BILIN_DATABASE_URL); SQLite is for one process"
        )


@dataclass
class WorkerProcess:
    """One worker and its process."""

    address: WorkerAddress
    process: subprocess.Popen[bytes] | None = None
    died_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Runs the balancer and the workers until told to stop."""

    settings: Settings
    count: int
    prefix: str = "w"
    balancer: bool = True
    restart_delay_s: float = 10.0
    workers: list[WorkerProcess] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    _stopping: bool = False
    _haproxy_died_at: float = 0.0

    def addresses(self) -> list[WorkerAddress]:
        """Workers on the ports after the public one."""
        first = self.settings.port + 1
        return [
            WorkerAddress(f"{self.prefix}{i + 1}", self.settings.host, first + i)
            for i in range(self.count)
        ]

    def run(self) -> int:
        """Start everything; supervise until SIGTERM or SIGINT; stop everything."""
        check_cluster_settings(self.settings)
        from server.db.migrate import upgrade

        upgrade(self.settings)
        self.workers = [WorkerProcess(a) for a in self.addresses()]
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        try:
            if self.balancer:
                self._start_haproxy()
            for worker in self.workers:
                self._start(worker)
            print(
                f"Bilin is running with {self.count} workers: open {self.settings.base_url}/",
                flush=True,
            )
            while not self._stopping:
                self._watch()
                time.sleep(0.5)
        finally:
            self._stop_all()
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _start_haproxy(self) -> None:
        binary = shutil.which("haproxy")
        if binary is None:
            raise ClusterError("HAProxy is not installed (Debian package haproxy)")
        path = Path(self.settings.data_dir) / "haproxy.cfg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            haproxy_config(self.settings.host, self.settings.port, self.addresses()),
            encoding="utf-8",
        )
        self.haproxy = subprocess.Popen([binary, "-f", str(path), "-db"])  # noqa: S603

    def _start(self, worker: WorkerProcess) -> None:
        env = dict(os.environ)
        env.update(
            BILIN_WORKER_ID=worker.address.id,
            BILIN_HOST=worker.address.host,
            BILIN_PORT=str(worker.address.port),
        )
        worker.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--worker"], env=env
        )
        worker.died_at = None
        logger.info("worker %s started (pid %d)", worker.address.id, worker.process.pid)
        self._write_roster()

    def _write_roster(self) -> None:
        """``<data dir>/workers.json``: each worker's id, address and process id, for
        operators (and the failover test, which kills one)."""
        roster = [
            {
                "id": w.address.id,
                "host": w.address.host,
                "port": w.address.port,
                "pid": w.process.pid if w.process is not None else None,
                "restarts": w.restarts,
            }
            for w in self.workers
        ]
        path = Path(self.settings.data_dir) / "workers.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(roster, indent=2), encoding="utf-8")
        temporary.replace(path)

    def _watch(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            process = worker.process
            if process is not None and process.poll() is not None:
                logger.warning(
                    "worker %s exited with %s; restarting in %.0f s",
                    worker.address.id,
                    process.returncode,
                    self.restart_delay_s,
                )
                worker.process = None
                worker.died_at = now
                self._write_roster()
            if (
                worker.process is None
                and worker.died_at is not None
                and now - worker.died_at >= self.restart_delay_s
            ):
                worker.restarts += 1
                self._start(worker)
        if self.haproxy is not None and self.haproxy.poll() is not None:
            logger.error("HAProxy exited with %s; restarting it in 2 s", self.haproxy.returncode)
            self.haproxy = None
            self._haproxy_died_at = now
        if self.balancer and self.haproxy is None and now - self._haproxy_died_at >= 2.0:
            self._start_haproxy()

    def _stop_all(self) -> None:
        processes = [w.process for w in self.workers if w.process is not None]
        if self.haproxy is not None:
            processes.append(self.haproxy)
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
