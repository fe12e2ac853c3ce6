"""Token buckets: how many events one connection may send."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; each event takes one."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def take(self) -> bool:
        """Spend a token if one is there."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# Events with a tighter budget of their own, on top of the overall one.
SPECIFIC_LIMITS: dict[str, tuple[float, float]] = {"chat": (2, 5), "speaking": (4, 8)}
OVERALL_LIMIT = (20.0, 40.0)
# A client refused this many times (any reason) is misbehaving: it is disconnected.
MAX_REFUSALS = 200


class ConnectionLimits:
    """The buckets of one connection."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._overall = TokenBucket(*OVERALL_LIMIT, clock=clock)
        self._specific = {
            name: TokenBucket(rate, burst, clock=clock)
            for name, (rate, burst) in SPECIFIC_LIMITS.items()
        }

    def allow(self, event: str) -> bool:
        """Whether ``event`` may be handled now (spends from the buckets it belongs to)."""
        specific = self._specific.get(event)
        if specific is not None and not specific.take():
            return False
        return self._overall.take()
