"""Where a hearing's room lives, for the page that wants to join it.

:class:`LocalPlacement` is the embedded default: one process holds every room and socket.io
is at ``/socket.io/``. :class:`ClusterPlacement` asks the Redis registry: the room's live
holder, or the least loaded worker with room; the page then connects at
``/w/<worker>/socket.io/`` and the balancer sends it to that worker only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from .registry import Claim, NoWorkerAvailable, WorkerRegistry
from .state import HearingStateStore, LocalStateStore, RedisStateStore

logger = logging.getLogger(__name__)

__all__ = ["ClusterPlacement", "LocalPlacement", "NoWorkerAvailable", "Placement"]


class Placement(Protocol):
    """Where rooms live, and the state they are rebuilt from."""

    worker_id: str
    state: HearingStateStore

    async def start(self) -> None:
        """Begin (heartbeats)."""
        ...

    async def stop(self) -> None:
        """Withdraw this worker."""
        ...

    async def claim(self, hearing_id: int, *, here: bool = False) -> Claim:
        """The worker for ``hearing_id`` (``here``: this one if the room is free)."""
        ...

    async def release(self, hearing_id: int) -> None:
        """This worker no longer holds ``hearing_id``."""
        ...

    def socket_path(self, worker_id: str) -> str:
        """Where a page opens socket.io to reach ``worker_id``."""
        ...


class LocalPlacement:
    """Everything in this one process."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.state: HearingStateStore = LocalStateStore()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def claim(self, hearing_id: int, *, here: bool = False) -> Claim:
        """Always here."""
        return Claim(self.worker_id, "")

    async def release(self, hearing_id: int) -> None:
        """Nothing to release."""

    def socket_path(self, worker_id: str) -> str:
        """The one socket.io endpoint."""
        return "/socket.io"


class ClusterPlacement:
    """Rooms spread over workers through the Redis registry."""

    def __init__(
        self,
        redis_url: str,
        worker_id: str,
        address: str,
        *,
        max_rooms: int,
        max_participants: int,
        load: Callable[[], tuple[list[str], int]],
        heartbeat_s: float = 2.0,
        ttl_s: float = 6.0,
    ) -> None:
        self.worker_id = worker_id
        self.redis = Redis.from_url(redis_url)
        self.registry = WorkerRegistry(
            self.redis,
            worker_id,
            address,
            max_rooms=max_rooms,
            max_participants=max_participants,
            load=load,
            heartbeat_s=heartbeat_s,
            ttl_s=ttl_s,
        )
        self.state: HearingStateStore = RedisStateStore(self.redis)

    async def start(self) -> None:
        """Join the registry."""
        await self.registry.start()

    async def stop(self) -> None:
        """Leave the registry and close the connection."""
        await self.registry.stop()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def claim(self, hearing_id: int, *, here: bool = False) -> Claim:
        """The room's worker (see :meth:`WorkerRegistry.claim_room`)."""
        return await self.registry.claim_room(str(hearing_id), prefer_self=here)

    async def release(self, hearing_id: int) -> None:
        """Forget the room if this worker holds it."""
        await self.registry.release_room(str(hearing_id))

    def socket_path(self, worker_id: str) -> str:
        """The balancer's route to that worker."""
        return f"/w/{worker_id}/socket.io"
