"""Which worker holds which room, kept in Redis with heartbeats and expiry.

Every worker writes ``bilin:worker:<id>`` (its address and load) every ``heartbeat_s`` with
an expiry of ``ttl_s``, and refreshes ``bilin:room:<room>`` for each room it holds. A worker
that dies stops refreshing: its key and its rooms' keys expire within ``ttl_s``, and the next
claim of such a room (a participant reconnecting) places it on a live worker. A room never
spans workers: a claim returns the live owner if there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

PREFIX = "bilin:"

# Claim a room for ARGV[1] unless a live worker holds it; returns the holder and, when the
# room changes hands, the previous holder (so the new one knows to recover its recording).
# KEYS[1]: the room's holder (expires with heartbeats); KEYS[2]: its last holder (kept a day).
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner and redis.call('EXISTS', ARGV[3] .. owner) == 1 then
  return {owner, ''}
end
local last = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('SET', KEYS[2], ARGV[1], 'EX', 86400)
if last == ARGV[1] then last = '' end
return {ARGV[1], last or ''}
"""

# Release a room only if this worker still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1], KEYS[2])
end
return 0
"""


class NoWorkerAvailable(RuntimeError):
    """Every live worker is full (or none is alive)."""


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker publishes about itself."""

    id: str
    # Where the load balancer reaches it, e.g. "127.0.0.1:8101" (for operators and tests).
    address: str
    rooms: int
    participants: int
    max_rooms: int
    max_participants: int
    started_at: float

    @property
    def full(self) -> bool:
        """Whether it refuses new rooms."""
        return self.rooms >= self.max_rooms or self.participants >= self.max_participants

    @property
    def load(self) -> float:
        """Fraction of capacity in use (the larger of rooms and participants)."""
        return max(
            self.rooms / max(1, self.max_rooms), self.participants / max(1, self.max_participants)
        )


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`WorkerRegistry.claim_room`."""

    worker_id: str
    # The worker that held the room before it changed hands ("" if new or unchanged).
    previous: str

    @property
    def taken_over(self) -> bool:
        """The room was orphaned by a dead worker and now has a new one."""
        return bool(self.previous) and self.previous != self.worker_id


Load = Callable[[], tuple[list[str], int]]
"""Returns the rooms this worker holds now and its participant count."""


class WorkerRegistry:
    """This worker's entry in the registry, and lookups of everyone's."""

    def __init__(
        self,
        redis: Redis,
        worker_id: str,
        address: str,
        *,
        max_rooms: int,
        max_participants: int,
        load: Load,
        heartbeat_s: float = 2.0,
        ttl_s: float = 6.0,
    ) -> None:
        self.redis = redis
        self.worker_id = worker_id
        self.address = address
        self.max_rooms = max_rooms
        self.max_participants = max_participants
        self._load = load
        self.heartbeat_s = heartbeat_s
        self.ttl_s = ttl_s
        self._started_at = time.time()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Publish the first heartbeat, then keep publishing."""
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name=f"registry-heartbeat-{self.worker_id}")

    async def stop(self) -> None:
        """Stop the heartbeat and withdraw this worker and its rooms at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        rooms, _ = self._load()
        with contextlib.suppress(Exception):
            for room in rooms:
                await self.release_room(room)
            await self.redis.delete(self._worker_key(self.worker_id))

    async def _loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.heartbeat_s)
                try:
                    await self.beat()
                except Exception:
                    logger.exception("registry heartbeat of %s failed", self.worker_id)
        finally:
            logger.debug("registry heartbeat of %s exited", self.worker_id)

    async def beat(self) -> None:
        """Publish this worker's load and refresh the expiry of every room it holds."""
        rooms, participants = self._load()
        info = WorkerInfo(
            id=self.worker_id,
            address=self.address,
            rooms=len(rooms),
            participants=participants,
            max_rooms=self.max_rooms,
            max_participants=self.max_participants,
            started_at=self._started_at,
        )
        ttl_ms = int(self.ttl_s * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._worker_key(self.worker_id), json.dumps(asdict(info)), px=ttl_ms)
            for room in rooms:
                # Only refresh rooms still ours (XX keeps a room another worker took over).
                pipe.set(self._room_key(room), self.worker_id, px=ttl_ms, xx=True)
            await pipe.execute()

    # -- lookups ---------------------------------------------------------------------------

    async def live_workers(self) -> list[WorkerInfo]:
        """Every worker whose heartbeat has not expired."""
        keys = [key async for key in self.redis.scan_iter(match=f"{PREFIX}worker:*", count=100)]
        if not keys:
            return []
        values = await self.redis.mget(keys)
        claimed = await self._claimed_rooms()
        workers = []
        for value in values:
            if value is None:
                continue
            try:
                info = WorkerInfo(**json.loads(value))
            except (TypeError, ValueError):
                logger.warning("ignoring a malformed worker entry")
                continue
            # A room placed a moment ago counts before its first participant arrives.
            rooms = max(info.rooms, claimed.get(info.id, 0))
            workers.append(replace(info, rooms=rooms))
        return sorted(workers, key=lambda w: w.id)

    async def _claimed_rooms(self) -> dict[str, int]:
        """Rooms held per worker according to the room keys."""
        keys = [
            key
            async for key in self.redis.scan_iter(match=f"{PREFIX}room:*", count=500)
            if not (key.decode() if isinstance(key, bytes) else str(key)).endswith(":last")
        ]
        counts: dict[str, int] = {}
        if keys:
            for owner in await self.redis.mget(keys):
                if owner is not None:
                    name = owner.decode() if isinstance(owner, bytes) else str(owner)
                    counts[name] = counts.get(name, 0) + 1
        return counts

    async def owner(self, room_id: str) -> str | None:
        """The live worker holding ``room_id``, if any."""
        owner = await self.redis.get(self._room_key(room_id))
        if owner is None:
            return None
        name = owner.decode() if isinstance(owner, bytes) else str(owner)
        return name if await self.redis.exists(self._worker_key(name)) else None

    # -- placement -------------------------------------------------------------------------

    async def claim_room(self, room_id: str, *, prefer_self: bool = False) -> Claim:
        """The worker that holds ``room_id``: its live holder, or else this worker if
        ``prefer_self`` and it is not full, or else the least loaded live worker that is not
        full (:class:`NoWorkerAvailable` when all are full)."""
        holder = await self.owner(room_id)
        if holder is not None:
            return Claim(holder, "")
        candidates = [w for w in await self.live_workers() if not w.full]
        mine = [w for w in candidates if w.id == self.worker_id]
        if prefer_self and mine:
            candidates = mine
        if not candidates:
            raise NoWorkerAvailable(room_id)
        chosen = min(candidates, key=lambda w: (w.load, w.id))
        result = await self.redis.eval(
            _CLAIM,
            2,
            self._room_key(room_id),
            self._room_key(room_id) + ":last",
            chosen.id,
            str(max(1, int(self.ttl_s))),
            f"{PREFIX}worker:",
        )
        winner, previous = (
            part.decode() if isinstance(part, bytes) else str(part) for part in result
        )
        return Claim(winner, previous)

    async def release_room(self, room_id: str) -> None:
        """Forget ``room_id`` if this worker holds it (the room closed here)."""
        room = self._room_key(room_id)
        await self.redis.eval(_RELEASE, 2, room, room + ":last", self.worker_id)

    @staticmethod
    def _worker_key(worker_id: str) -> str:
        return f"{PREFIX}worker:{worker_id}"

    @staticmethod
    def _room_key(room_id: str) -> str:
        return f"{PREFIX}room:{room_id}"
