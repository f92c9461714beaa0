"""An exact per-channel rate limiter (GCRA), in process: one dispatcher owns a channel."""

import asyncio
import time


class Pacer:
    """Spaces events 1/rate seconds apart, allowing a small burst.

    GCRA keeps one number, the theoretical arrival time (TAT) of the next event: an event
    may go when now >= TAT - burst_window, and moves TAT one interval forward.
    """

    def __init__(self, rate: float, burst: int = 1, clock=time.monotonic):
        # A rate of 0 would divide by zero; settings refuse it, this never trusts them.
        self.interval = 1.0 / max(rate, 1)
        self.tolerance = self.interval * max(burst - 1, 0)
        self.clock = clock
        self.tat = clock()

    def delay(self) -> float:
        """Reserve the next slot; return how long to wait before using it."""
        now = self.clock()
        tat = max(self.tat, now)
        self.tat = tat + self.interval
        return max(0.0, tat - self.tolerance - now)

    async def wait(self) -> None:
        if (pause := self.delay()) > 0:
            await asyncio.sleep(pause)

    def hold(self, seconds: float) -> None:
        """The provider said slow down: nothing goes for `seconds`."""
        self.tat = max(self.tat, self.clock() + seconds)


class RecipientSpacing:
    """A kind's least time between two messages to one chat (Telegram: about one a second
    per chat), kept by the one dispatcher that owns the channel. A broadcast sends each chat
    one message, so in practice it spaces a reply from the next one."""

    # Chats whose time has passed are forgotten once this many are remembered.
    PRUNE_AT = 4096

    def __init__(self, interval: float | None, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.next: dict[str, float] = {}

    def delay(self, recipient: str) -> float:
        """Reserve the recipient's next slot; return how long to wait before using it."""
        if not self.interval:
            return 0.0
        now = self.clock()
        if len(self.next) >= self.PRUNE_AT:
            self.next = {r: t for r, t in self.next.items() if t > now}
        at = max(self.next.get(recipient, now), now)
        self.next[recipient] = at + self.interval
        return at - now

    async def wait(self, recipient: str) -> None:
        if (pause := self.delay(recipient)) > 0:
            await asyncio.sleep(pause)
