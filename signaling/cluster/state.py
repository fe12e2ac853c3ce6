"""What a hearing's room is rebuilt from on another worker: where each seat is and which
caucus rooms are open. Saved in Redis on every change; read when a worker opens a hearing
that another worker held."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

KEEP_S = 24 * 3600


@dataclass(frozen=True)
class HearingSnapshot:
    """Locations of seats (by seat id) and open caucus rooms (id -> label)."""

    locations: dict[int, str] = field(default_factory=dict)
    caucus_rooms: dict[str, str] = field(default_factory=dict)
    next_caucus: int = 1

    def to_json(self) -> str:
        """Stable JSON (seat ids as strings)."""
        return json.dumps(
            {
                "locations": {str(k): v for k, v in sorted(self.locations.items())},
                "caucus_rooms": self.caucus_rooms,
                "next_caucus": self.next_caucus,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> HearingSnapshot:
        """Parse :meth:`to_json`'s output."""
        data = json.loads(text)
        return cls(
            locations={int(k): str(v) for k, v in data.get("locations", {}).items()},
            caucus_rooms={str(k): str(v) for k, v in data.get("caucus_rooms", {}).items()},
            next_caucus=int(data.get("next_caucus", 1)),
        )


class HearingStateStore(Protocol):
    """Where snapshots live."""

    async def save(self, hearing_id: int, snapshot: HearingSnapshot) -> None:
        """Remember the hearing's state."""
        ...

    async def load(self, hearing_id: int) -> HearingSnapshot | None:
        """The last saved state, if any."""
        ...


class LocalStateStore:
    """One process: the state never needs to leave it."""

    async def save(self, hearing_id: int, snapshot: HearingSnapshot) -> None:
        """Nothing to do."""

    async def load(self, hearing_id: int) -> HearingSnapshot | None:
        """Nothing saved."""
        return None


class RedisStateStore:
    """Snapshots in Redis (``bilin:hearing:<id>:state``), kept a day."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, hearing_id: int, snapshot: HearingSnapshot) -> None:
        """Write the snapshot."""
        await self.redis.set(self._key(hearing_id), snapshot.to_json(), ex=KEEP_S)

    async def load(self, hearing_id: int) -> HearingSnapshot | None:
        """Read it back (``None`` if absent or unreadable)."""
        raw = await self.redis.get(self._key(hearing_id))
        if raw is None:
            return None
        try:
            return HearingSnapshot.from_json(raw.decode() if isinstance(raw, bytes) else raw)
        except (ValueError, TypeError, AttributeError):
            logger.warning("ignoring an unreadable state of hearing %s", hearing_id)
            return None

    @staticmethod
    def _key(hearing_id: int) -> str:
        return f"bilin:hearing:{hearing_id}:state"
