"""Token buckets for Meta's throughput (per number) and pair rate (per number and user)."""

from __future__ import annotations

import time


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; starts full."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        if now is None:
            now = time.monotonic()
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class PairLimiter:
    """One bucket per (business number, user): 1 message per `interval` s, bursts of `burst`.

    Meta lets a burst "borrow" future quota (reference §5.2), which is exactly what a token
    bucket with capacity `burst` refilled at 1/interval does.
    """

    __slots__ = ("interval", "burst", "_buckets")

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(1.0 / self.interval, self.burst)
            bucket.updated = now
        return bucket.take(now)

    def clear(self) -> None:
        self._buckets.clear()
