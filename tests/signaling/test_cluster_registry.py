"""The worker registry on a real Redis server: heartbeats, placement on the least loaded
worker, one holder per room, a dead worker's rooms orphaned within seconds, full workers
refusing new rooms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from signaling.cluster.registry import NoWorkerAvailable, WorkerRegistry
from tests.redis_server import redis_db_url


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_db_url(1))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


class Load:
    """A worker's rooms and participants, as its registry reads them."""

    def __init__(self) -> None:
        self.rooms: list[str] = []
        self.participants = 0

    def __call__(self) -> tuple[list[str], int]:
        return list(self.rooms), self.participants


def registry(redis: Redis, worker_id: str, load: Load, max_rooms: int = 10) -> WorkerRegistry:
    return WorkerRegistry(
        redis,
        worker_id,
        f"127.0.0.1:81{worker_id[-1]}0",
        max_rooms=max_rooms,
        max_participants=40,
        load=load,
        heartbeat_s=0.2,
        ttl_s=1.0,
    )


async def until(condition: Callable[[], Awaitable[bool]], limit: float = 5.0) -> float:
    """Seconds until ``condition`` holds (fails after ``limit`` seconds)."""
    start = time.monotonic()
    while not await condition():
        assert time.monotonic() - start < limit, "condition not reached"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_rooms_go_to_the_least_loaded_worker_and_stay_there(redis: Redis) -> None:
    busy, idle = Load(), Load()
    busy.rooms, busy.participants = ["1", "2", "3"], 12
    w1, w2 = registry(redis, "w1", busy), registry(redis, "w2", idle)
    await w1.start()
    await w2.start()
    try:
        assert [w.id for w in await w1.live_workers()] == ["w1", "w2"]
        claim = await w1.claim_room("7")
        assert claim.worker_id == "w2" and not claim.taken_over
        idle.rooms.append("7")
        # Whoever asks next, and however loads change, the room stays where it is.
        idle.participants = 39
        await w2.beat()
        assert (await w1.claim_room("7")).worker_id == "w2"
        assert (await w2.claim_room("7")).worker_id == "w2"
        assert await w1.owner("7") == "w2"
    finally:
        await w1.stop()
        await w2.stop()


async def test_a_dead_workers_rooms_are_orphaned_within_seconds_and_taken_over(
    redis: Redis,
) -> None:
    load1, load2 = Load(), Load()
    load2.participants = 30  # so the first room goes to w1
    w1, w2 = registry(redis, "w1", load1), registry(redis, "w2", load2)
    await w1.start()
    await w2.start()
    try:
        assert (await w2.claim_room("42")).worker_id == "w1"
        load1.rooms.append("42")
        # w1 dies: its heartbeat stops without withdrawing anything (as after SIGKILL).
        assert w1._task is not None
        w1._task.cancel()
        orphaned_after = await until(lambda: _is_none(w2.owner("42")))
        assert orphaned_after < 2.0
        assert [w.id for w in await w2.live_workers()] == ["w2"]
        claim = await w2.claim_room("42")
        assert claim.worker_id == "w2" and claim.taken_over and claim.previous == "w1"
        # The next claim is an ordinary one.
        assert not (await w2.claim_room("42")).taken_over
    finally:
        await w2.stop()


async def test_a_full_worker_gets_no_new_room_and_all_full_is_a_clear_refusal(
    redis: Redis,
) -> None:
    full, spare = Load(), Load()
    full.rooms = ["1", "2"]
    w1 = registry(redis, "w1", full, max_rooms=2)
    w2 = registry(redis, "w2", spare, max_rooms=1)
    await w1.start()
    await w2.start()
    try:
        assert (await w1.claim_room("3")).worker_id == "w2"
        spare.rooms.append("3")
        await w2.beat()
        with pytest.raises(NoWorkerAvailable):
            await w1.claim_room("4")
        # Existing rooms are still found on their (full) workers.
        assert (await w1.claim_room("3")).worker_id == "w2"
    finally:
        await w1.stop()
        await w2.stop()


async def test_a_closed_room_is_released_and_a_stopped_worker_withdraws(redis: Redis) -> None:
    load = Load()
    w1 = registry(redis, "w1", load)
    await w1.start()
    assert (await w1.claim_room("5")).worker_id == "w1"
    await w1.release_room("5")
    assert await w1.owner("5") is None
    assert not (await w1.claim_room("5")).taken_over
    load.rooms.append("5")
    await w1.stop()
    assert await w1.live_workers() == []
    assert await redis.get("bilin:room:5") is None


async def _is_none(value: Awaitable[object]) -> bool:
    return await value is None


async def test_rooms_placed_in_a_row_spread_before_anyone_arrives(redis: Redis) -> None:
    loads = [Load(), Load(), Load()]
    workers = [registry(redis, f"w{i + 1}", load) for i, load in enumerate(loads)]
    for worker in workers:
        await worker.start()
    try:
        placed = [(await workers[0].claim_room(str(room))).worker_id for room in (1, 2, 3)]
        assert sorted(placed) == ["w1", "w2", "w3"]
    finally:
        for worker in workers:
            await worker.stop()
