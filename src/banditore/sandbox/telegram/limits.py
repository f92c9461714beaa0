"""Telegram's flood limits as token buckets that say how long to wait.

A 429 carries `retry_after` in whole seconds; a client that waits that long must get through,
so the wait is rounded up and never below 1 (Telegram never answers "retry after 0").
"""

from __future__ import annotations

import math
import time

from banditore.sandbox.ratelimit import TokenBucket


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))


class FloodLimits:
    """Per bot overall, per (bot, chat), and per (bot, channel) per minute; each bucket saves
    up at most one second of its rate (the channel one, a minute), and at least one message.

    A send takes a token from every bucket it falls under, or from none: a refused send costs
    nothing, so a client that honours retry_after is not punished twice.
    """

    def __init__(
        self, per_bot_per_second: float, per_chat_per_second: float, per_channel_per_minute: float
    ) -> None:
        self.per_bot = per_bot_per_second
        self.per_chat = per_chat_per_second
        self.per_channel = per_channel_per_minute / 60.0
        self._buckets: dict[tuple[object, ...], TokenBucket] = {}

    def _bucket(
        self, key: tuple[object, ...], rate: float, capacity: float, now: float
    ) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, capacity, now)
        return bucket

    def take(self, bot_id: int, chat_id: int, is_channel: bool, now: float | None = None) -> float:
        """0 when the send may go (its tokens taken); else the seconds to wait."""
        if now is None:
            now = time.monotonic()
        buckets = [
            self._bucket(("bot", bot_id), self.per_bot, self.per_bot, now),
            self._bucket(("chat", bot_id, chat_id), self.per_chat, max(1.0, self.per_chat), now),
        ]
        if is_channel:
            key = ("channel", bot_id, chat_id)
            buckets.append(self._bucket(key, self.per_channel, self.per_channel * 60.0, now))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait == 0.0:
            for bucket in buckets:
                bucket.tokens -= 1.0
        return wait

    def clear(self) -> None:
        self._buckets.clear()
