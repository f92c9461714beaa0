"""A channel's circuit breaker: when its provider is down, stop sending and probe.

Without it a provider outage makes every queued delivery fail, back off and burn its retry
budget in turn. With it, a few failures in a row open the breaker: nothing is sent for a
cool-down (1 s, doubling up to 30 s), then one probe goes; its success closes the breaker,
its failure opens it again. Only provider trouble (5xx, network) counts: a provider that
answers "this number is not on WhatsApp" is working fine.
"""

import time


class Breaker:
    def __init__(self, threshold: int = 5, first: float = 1.0, cap: float = 30.0, clock=None):
        self.threshold = threshold
        self.first = first
        self.cap = cap
        self.clock = clock or time.monotonic
        self.failures = 0
        self.cooldown = first
        self.open_until = 0.0
        self.probing = False

    @property
    def closed(self) -> bool:
        return self.failures < self.threshold

    def allow(self) -> tuple[float, bool]:
        """(seconds to wait before trying again, whether the send now allowed is a probe)."""
        if self.closed:
            return 0.0, False
        now = self.clock()
        if now < self.open_until:
            return self.open_until - now, False
        if self.probing:
            return 0.1, False  # one probe at a time; wait for its answer
        self.probing = True
        return 0.0, True

    def record(self, trouble: bool, probe: bool = False) -> None:
        if not trouble:
            self.failures = 0
            self.cooldown = self.first
            self.probing = False
            return
        self.failures += 1
        if probe or self.failures == self.threshold:
            self.probing = False
            self.open_until = self.clock() + self.cooldown
            self.cooldown = min(self.cap, self.cooldown * 2)
