"""The media worker: owns the rooms of one process and their periodic reports.

One Python process forwards on one core; run several workers (processes), each owning
whole rooms. Use it as an async context manager, or call :meth:`start` and :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .config import MediaConfig
from .errors import ClosedError
from .events import MediaEvents
from .model import MediaTotals
from .room import Room

logger = logging.getLogger(__name__)


class MediaWorker:
    """Rooms of one media process."""

    def __init__(self, config: MediaConfig | None = None, events: MediaEvents | None = None):
        self.config = config or MediaConfig()
        self.events = events or MediaEvents()
        self._rooms: dict[str, Room] = {}
        # Counters of participants who left (see :meth:`totals`).
        self.retired = MediaTotals()
        self._ticker: asyncio.Task[None] | None = None
        self._stopped = False

    async def __aenter__(self) -> MediaWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the report loop (idempotent)."""
        if self._stopped:
            raise ClosedError("media worker is stopped")
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_loop(), name="media-worker-reports")

    @property
    def rooms(self) -> list[Room]:
        """Open rooms."""
        return list(self._rooms.values())

    def room(self, room_id: str) -> Room:
        """The room with this id, created on first use."""
        if self._stopped or self._ticker is None:
            raise ClosedError("media worker is not running")
        room = self._rooms.get(room_id)
        if room is None:
            room = Room(room_id, self.config, self.events, self._forget, self.retired)
            self._rooms[room_id] = room
        return room

    def totals(self) -> MediaTotals:
        """Packets received, forwarded, lost, NACKs and keyframe requests since start."""
        live = MediaTotals()
        for room in self._rooms.values():
            for participant in room.participants:
                live.add(participant.stats())
        return self.retired.plus(live)

    def get_room(self, room_id: str) -> Room | None:
        """The room with this id if it is open."""
        return self._rooms.get(room_id)

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.id) is room:
            del self._rooms[room.id]

    async def stop(self) -> None:
        """Close every room (and so every peer connection) and the report loop."""
        self._stopped = True
        rooms = list(self._rooms.values())
        results = await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                logger.error("closing a room failed", exc_info=result)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.config.report_interval)
                for room in list(self._rooms.values()):
                    try:
                        room.tick()
                    except Exception:
                        logger.exception("media reports for room %s failed", room.id)
        finally:
            logger.debug("media worker report loop exited")
