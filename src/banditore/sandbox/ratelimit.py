"""Token buckets for Meta's throughput (per number) and pair rate (per number and user)."""

from __future__ import annotations

import time


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; starts full."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = time.monotonic() if now is None else now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is there (0 when it is there now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float | None = None) -> bool:
        if self.wait(time.monotonic() if now is None else now) > 0:
            return False
        self.tokens -= 1.0
        return True


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
            bucket = self._buckets[key] = TokenBucket(1.0 / self.interval, self.burst, now)
        return bucket.take(now)

    def clear(self) -> None:
        self._buckets.clear()
