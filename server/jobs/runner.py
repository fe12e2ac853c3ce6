"""The job runner: claims queued jobs from the ``jobs`` table and runs their handlers.

Any process with a runner may run any queued job: a job is claimed with one conditional
``UPDATE`` (``WHERE id = … AND status = 'queued'``, or a running job whose heartbeat is stale,
i.e. its process died), which exactly one runner wins on SQLite and PostgreSQL alike. While a
handler runs, the runner writes its progress (at most a few times a second) and a heartbeat;
when it ends the job is ``done`` with the handler's result, or ``failed`` with an i18n message
key (never a stack trace: that goes to the log).

Handlers are ``async def handler(job: JobContext) -> dict[str, Any]``. CPU-heavy work belongs
in a thread (:meth:`JobContext.run_in_thread`) so that the event loop, and live media with
it, never stalls; from the thread, :meth:`JobContext.report` records progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.db.job import Job
from server.jobs.vocabulary import JobStatus
from server.settings import Settings

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Progress is written at most this often (seconds); the heartbeat at least this often.
PROGRESS_INTERVAL_S = 0.25
HEARTBEAT_INTERVAL_S = 5.0
# A running job whose heartbeat is older than this is taken over by another runner.
STALE_AFTER_S = 60.0
# Without a wake-up, the runner looks for work this often (jobs queued by other processes).
POLL_INTERVAL_S = 2.0

FAILED_MESSAGE = "job.failed"
DONE_MESSAGE = "job.done"
QUEUED_MESSAGE = "job.queued"
RUNNING_MESSAGE = "job.running"


class JobError(Exception):
    """A failure the user is told about: ``key`` is an i18n message key (e.g.
    ``"export.error.no_tracks"``) shown beside the progress bar."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class JobContext:
    """What a handler gets: the job's id and parameters, the settings and database, and a way
    to report progress."""

    id: int
    kind: str
    params: dict[str, Any]
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    _pending: tuple[float, str] | None = field(default=None, repr=False)
    _message: str = field(default="", repr=False)

    async def progress(self, fraction: float, message_key: str = "") -> None:
        """Report progress (0..1) and, optionally, what is happening (an i18n key). Cheap to
        call often: the runner writes the latest value a few times a second."""
        self.report(fraction, message_key)

    def report(self, fraction: float, message_key: str = "") -> None:
        """Like :meth:`progress`, callable from any thread (a render loop, say)."""
        if message_key:
            self._message = message_key
        # One tuple assignment: atomic, so the runner never sees half an update.
        self._pending = (min(1.0, max(0.0, float(fraction))), self._message or RUNNING_MESSAGE)

    async def run_in_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU-heavy ``fn`` in a worker thread, keeping the event loop free."""
        return await asyncio.to_thread(fn, *args, **kwargs)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]


def _worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


async def enqueue(
    db: AsyncSession,
    kind: str,
    params: dict[str, Any],
    *,
    case_id: int | None = None,
    created_by_id: int | None = None,
) -> Job:
    """Queue a job in ``db``'s transaction (flushed, so ``job.id`` is set). It runs once the
    transaction commits; a runner in another process finds it within a poll interval. Prefer
    :meth:`JobRunner.enqueue`, which also wakes this process's runner at commit."""
    job = Job(
        kind=kind,
        status=JobStatus.QUEUED,
        params=json.dumps(params, ensure_ascii=False),
        result="{}",
        progress=0.0,
        message=QUEUED_MESSAGE,
        case_id=case_id,
        created_by_id=created_by_id,
    )
    db.add(job)
    await db.flush()
    return job


class JobRunner:
    """Runs registered job kinds for one app: ``register`` handlers at build time, ``start``
    with the app's database, ``stop`` (cancels and awaits the loop and a running handler; the
    job goes back to the queue)."""

    def __init__(
        self,
        settings: Settings,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        stale_after_s: float = STALE_AFTER_S,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.handlers: dict[str, Handler] = {}
        self.worker = worker or _worker_name()
        self.poll_interval_s = poll_interval_s
        self.stale_after_s = stale_after_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.progress_interval_s = progress_interval_s
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def register(self, kind: str, handler: Handler) -> None:
        """Run jobs of ``kind`` with ``handler`` (one handler per kind)."""
        if kind in self.handlers and self.handlers[kind] is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self.handlers[kind] = handler

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The database the runner works on (set by :meth:`start`)."""
        if self._sessionmaker is None:
            raise RuntimeError("the job runner has not been started")
        return self._sessionmaker

    def start(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Start claiming jobs."""
        if self._task is not None:
            raise RuntimeError("the job runner is already running")
        self._sessionmaker = sessionmaker
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=f"job-runner {self.worker}")

    async def stop(self) -> None:
        """Stop: cancel the loop (and the handler it runs) and wait for it."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def wake(self) -> None:
        """Look for work now (a job was just queued)."""
        self._wake.set()

    async def enqueue(
        self,
        db: AsyncSession,
        kind: str,
        params: dict[str, Any],
        *,
        case_id: int | None = None,
        created_by_id: int | None = None,
    ) -> Job:
        """:func:`enqueue`, and wake this runner when ``db``'s transaction commits."""
        job = await enqueue(db, kind, params, case_id=case_id, created_by_id=created_by_id)
        event.listen(db.sync_session, "after_commit", lambda _session: self.wake(), once=True)
        return job

    # -- the loop ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                job_id = await self.claim_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job runner %s could not look for work", self.worker)
                job_id = None
            if job_id is not None:
                await self._run(job_id)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    def _claimable(self, now: dt.datetime) -> Any:
        stale = now - dt.timedelta(seconds=self.stale_after_s)
        return or_(
            Job.status == JobStatus.QUEUED,
            and_(
                Job.status == JobStatus.RUNNING,
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale),
            ),
        )

    async def claim_next(self) -> int | None:
        """Claim the oldest claimable job of a registered kind; its id, or None."""
        if not self.handlers:
            return None
        async with self.sessionmaker() as db:
            now = utcnow()
            candidates = list(
                await db.scalars(
                    select(Job.id)
                    .where(Job.kind.in_(sorted(self.handlers)), self._claimable(now))
                    .order_by(Job.id)
                    .limit(5)
                )
            )
            for job_id in candidates:
                # The condition is checked again by the UPDATE itself: of two runners racing
                # for the same row, exactly one sees rowcount 1.
                claimed = await db.execute(
                    update(Job)
                    .where(Job.id == job_id, self._claimable(now))
                    .values(
                        status=JobStatus.RUNNING,
                        worker=self.worker,
                        heartbeat_at=now,
                        started_at=now,
                        finished_at=None,
                        progress=0.0,
                        message=RUNNING_MESSAGE,
                    )
                    .execution_options(synchronize_session=False)
                )
                await db.commit()
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    return job_id
        return None

    async def _run(self, job_id: int) -> None:
        async with self.sessionmaker() as db:
            job = await db.get(Job, job_id)
            if job is None:
                return
            kind, raw_params = job.kind, job.params
        try:
            params = json.loads(raw_params or "{}")
        except ValueError:
            params = None
        context = JobContext(job_id, kind, params or {}, self.settings, self.sessionmaker)
        if not isinstance(params, dict):
            await self._finish(context, JobStatus.FAILED, {"error": FAILED_MESSAGE}, FAILED_MESSAGE)
            return
        logger.info("job %s (%s) started by %s", job_id, kind, self.worker)
        reporter = asyncio.create_task(self._report_loop(context), name=f"job {job_id} progress")
        try:
            result = await self.handlers[kind](context)
        except asyncio.CancelledError:
            # Stopped with the app: hand the job back to the queue for the next start (or
            # another process).
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(job_id))
            raise
        except JobError as exc:
            logger.warning("job %s (%s) failed: %s", job_id, kind, exc.key)
            await self._stop_reporter(reporter)
            await self._finish(context, JobStatus.FAILED, {"error": exc.key}, exc.key)
        except Exception:
            logger.exception("job %s (%s) failed", job_id, kind)
            await self._stop_reporter(reporter)
            await self._finish(context, JobStatus.FAILED, {"error": FAILED_MESSAGE}, FAILED_MESSAGE)
        else:
            await self._stop_reporter(reporter)
            logger.info("job %s (%s) done", job_id, kind)
            await self._finish(context, JobStatus.DONE, result or {}, DONE_MESSAGE)

    async def _stop_reporter(self, reporter: asyncio.Task[None]) -> None:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter

    async def _report_loop(self, context: JobContext) -> None:
        """Write the handler's latest progress a few times a second, and a heartbeat."""
        last_beat = time.monotonic()
        while True:
            await asyncio.sleep(self.progress_interval_s)
            pending, context._pending = context._pending, None
            if pending is None and time.monotonic() - last_beat < self.heartbeat_interval_s:
                continue
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if pending is not None:
                values["progress"], values["message"] = pending
            try:
                async with self.sessionmaker() as db:
                    await db.execute(
                        update(Job)
                        .where(Job.id == context.id, Job.worker == self.worker)
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
                    await db.commit()
                last_beat = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job %s: progress not written", context.id)

    async def _finish(
        self, context: JobContext, status: JobStatus, result: dict[str, Any], message: str
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "result": json.dumps(result, ensure_ascii=False, default=str),
            "message": message,
            "heartbeat_at": now,
            "finished_at": now,
        }
        if status == JobStatus.DONE:
            values["progress"] = 1.0
        async with self.sessionmaker() as db:
            await db.execute(
                update(Job)
                .where(Job.id == context.id, Job.worker == self.worker)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await db.commit()

    async def _release(self, job_id: int) -> None:
        async with self.sessionmaker() as db:
            await db.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker == self.worker)
                .values(
                    status=JobStatus.QUEUED, worker="", heartbeat_at=None, message=QUEUED_MESSAGE
                )
                .execution_options(synchronize_session=False)
            )
            await db.commit()
