"""The job runner on both databases: one claim across two runners, progress, failures shown
as message keys, stale jobs taken over, a running job handed back when the runner stops, and
``GET /api/jobs/{id}`` within the caller's scope."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.appkeys import JOBS, SESSIONMAKER
from server.db import Case
from server.db.engine import create_engine, create_sessionmaker
from server.db.job import Job
from server.jobs.runner import JobContext, JobError, JobRunner, enqueue
from server.jobs.vocabulary import JobStatus
from server.settings import Settings
from tests.server.test_workflow import act_as, call, take_in
from tests.world import World


def fast_runner(
    settings: Settings, worker: str | None = None, stale_after_s: float = 60
) -> JobRunner:
    """A runner that polls and reports quickly (the tests wait on it)."""
    return JobRunner(
        settings,
        worker=worker,
        stale_after_s=stale_after_s,
        poll_interval_s=0.05,
        progress_interval_s=0.02,
        heartbeat_interval_s=0.1,
    )


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def wait_for(
    maker: async_sessionmaker[AsyncSession],
    job_id: int,
    condition: Callable[[Job], bool],
    within: float = 10.0,
) -> Job:
    """Poll the job's row until ``condition`` holds (with a deadline)."""
    deadline = time.monotonic() + within
    while True:
        async with maker() as db:
            job = await db.get(Job, job_id)
            assert job is not None
            if condition(job):
                return job
        assert time.monotonic() < deadline, f"job {job_id}: {job.status} {job.message}"
        await asyncio.sleep(0.02)


async def queue(
    maker: async_sessionmaker[AsyncSession], kind: str, params: dict[str, Any], **kw: Any
) -> int:
    async with maker() as db:
        job = await enqueue(db, kind, params, **kw)
        await db.commit()
        return job.id


async def test_two_runners_claim_each_job_once(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    ran: list[tuple[str, int]] = []

    def handler_for(name: str) -> Callable[[JobContext], Awaitable[dict[str, Any]]]:
        async def handler(job: JobContext) -> dict[str, Any]:
            ran.append((name, int(job.params["n"])))
            await asyncio.sleep(0.01)
            return {"n": job.params["n"], "by": name}

        return handler

    ids = [await queue(maker, "count", {"n": n}) for n in range(12)]
    runners = [fast_runner(settings, f"w{i}") for i in range(2)]
    for i, runner in enumerate(runners):
        runner.register("count", handler_for(f"w{i}"))
        runner.start(maker)
    try:
        for job_id in ids:
            await wait_for(maker, job_id, lambda j: j.status == JobStatus.DONE)
    finally:
        for runner in runners:
            await runner.stop()
    assert sorted(n for _, n in ran) == list(range(12))  # every job exactly once
    async with maker() as db:
        for n, job_id in enumerate(ids):
            job = await db.get(Job, job_id)
            assert job is not None
            assert job.progress == 1.0 and job.finished_at is not None
            assert json.loads(job.result)["n"] == n


async def test_progress_is_written_while_running_and_failure_is_a_message_key(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def slow(job: JobContext) -> dict[str, Any]:
        await job.progress(0.5, "job.queued")
        halfway.set()
        await go_on.wait()
        return {}

    async def broken(job: JobContext) -> dict[str, Any]:
        raise RuntimeError("secret internals /etc/passwd")

    async def refused(job: JobContext) -> dict[str, Any]:
        raise JobError("export.error.no_tracks")

    runner = fast_runner(settings)
    runner.register("slow", slow)
    runner.register("broken", broken)
    runner.register("refused", refused)
    runner.start(maker)
    try:
        slow_id = await queue(maker, "slow", {})
        runner.wake()
        job = await wait_for(maker, slow_id, lambda j: j.progress == 0.5)
        assert job.status == JobStatus.RUNNING and job.message == "job.queued"
        go_on.set()
        await wait_for(maker, slow_id, lambda j: j.status == JobStatus.DONE)
        broken_id = await queue(maker, "broken", {})
        refused_id = await queue(maker, "refused", {})
        runner.wake()
        failed = await wait_for(maker, broken_id, lambda j: j.status == JobStatus.FAILED)
        assert failed.message == "job.failed" and "secret" not in failed.result
        failed = await wait_for(maker, refused_id, lambda j: j.status == JobStatus.FAILED)
        assert failed.message == "export.error.no_tracks"
    finally:
        await runner.stop()


async def test_a_stale_running_job_is_taken_over(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    async def finish(job: JobContext) -> dict[str, Any]:
        return {"worker": "second"}

    job_id = await queue(maker, "render", {})
    async with maker() as db:
        # A process claimed it and died: its heartbeat stopped two minutes ago.
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
        await db.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.RUNNING, worker="dead:1", heartbeat_at=long_ago)
        )
        fresh_id = (await enqueue(db, "render", {})).id
        await db.execute(
            update(Job)
            .where(Job.id == fresh_id)
            .values(
                status=JobStatus.RUNNING, worker="alive:1", heartbeat_at=dt.datetime.now(dt.UTC)
            )
        )
        await db.commit()
    runner = fast_runner(settings, stale_after_s=30)
    runner.register("render", finish)
    runner.start(maker)
    try:
        job = await wait_for(maker, job_id, lambda j: j.status == JobStatus.DONE)
        assert job.worker == runner.worker
    finally:
        await runner.stop()
    async with maker() as db:
        fresh = await db.get(Job, fresh_id)
        assert fresh is not None and fresh.worker == "alive:1"  # a live claim is left alone


async def test_stopping_cancels_the_handler_and_requeues_the_job(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def forever(job: JobContext) -> dict[str, Any]:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    runner = fast_runner(settings)
    runner.register("forever", forever)
    runner.start(maker)
    job_id = await runner_enqueue(runner, maker, "forever")
    await asyncio.wait_for(started.wait(), 10)
    await runner.stop()
    assert cancelled.is_set()
    async with maker() as db:
        job = await db.get(Job, job_id)
        assert job is not None and job.status == JobStatus.QUEUED and job.worker == ""


async def runner_enqueue(
    runner: JobRunner, maker: async_sessionmaker[AsyncSession], kind: str
) -> int:
    async with maker() as db:
        job = await runner.enqueue(db, kind, {})
        await db.commit()
        return job.id


async def test_enqueue_wakes_the_runner_at_commit(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    async def quick(job: JobContext) -> dict[str, Any]:
        return {}

    # Polls only once a minute: only the wake-up at commit can make it prompt.
    runner = JobRunner(settings, poll_interval_s=60, progress_interval_s=0.02)
    runner.register("quick", quick)
    runner.start(maker)
    try:
        await asyncio.sleep(0.1)  # let it go idle first
        t0 = time.monotonic()
        job_id = await runner_enqueue(runner, maker, "quick")
        await wait_for(maker, job_id, lambda j: j.status == JobStatus.DONE, within=5)
        assert time.monotonic() - t0 < 2
    finally:
        await runner.stop()


async def test_job_progress_endpoint_answers_only_in_scope(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    csrf = await act_as(client, "lz_clerk")
    case = await take_in(client, csrf)
    maker = client.app[SESSIONMAKER]
    runner = client.app[JOBS]
    done = asyncio.Event()

    async def waits(job: JobContext) -> dict[str, Any]:
        await job.progress(0.25)
        await done.wait()
        return {"export_id": 7}

    runner.register("waits", waits)
    async with maker() as db:
        job = await runner.enqueue(
            db, "waits", {}, case_id=case["id"], created_by_id=world.staff["lz_clerk"].id
        )
        await db.commit()
    status, body = await call(client, "GET", f"/api/jobs/{job.id}")
    assert status == 200 and body["id"] == job.id and not body["finished"]
    assert body["message_text"]
    await act_as(client, "mq_clerk")  # another county: as if it did not exist
    assert (await call(client, "GET", f"/api/jobs/{job.id}"))[0] == 404
    assert (await call(client, "GET", "/api/jobs/999999"))[0] == 404
    await act_as(client, "lz_clerk")
    done.set()
    deadline = time.monotonic() + 10
    while not body["finished"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
        status, body = await call(client, "GET", f"/api/jobs/{job.id}")
    assert body["status"] == "done" and body["progress"] == 1.0
    assert body["result"] == {"export_id": 7}
    async with maker() as db:
        assert await db.get(Case, case["id"]) is not None


async def test_progress_writes_are_throttled(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> None:
    """A handler may report thousands of times; the row is written a few times a second."""
    from sqlalchemy import event

    async def chatty(job: JobContext) -> dict[str, Any]:
        for step in range(2000):
            await job.progress(step / 2000)
            if step % 100 == 0:
                await asyncio.sleep(0.05)  # about one second in all
        return {}

    writes: list[str] = []
    engine = maker.kw["bind"].sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE JOBS"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    runner = JobRunner(settings, poll_interval_s=0.05, progress_interval_s=0.25)
    runner.register("chatty", chatty)
    runner.start(maker)
    try:
        t0 = time.monotonic()
        job_id = await queue(maker, "chatty", {})
        await wait_for(maker, job_id, lambda j: j.status == JobStatus.DONE)
        elapsed = time.monotonic() - t0
    finally:
        await runner.stop()
        event.remove(engine, "before_cursor_execute", count)
    # Claim + finish + at most four progress writes a second.
    assert 3 <= len(writes) <= 2 + 4 * elapsed + 1, (len(writes), elapsed)
