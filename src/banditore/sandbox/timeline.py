"""The life of an accepted message after the HTTP 200: `sent` → `delivered` → `read`, or
`failed` with an error, each emitted as a status webhook after a configurable delay
(reference §4.5). Timers live on the event loop, so nothing here blocks a request."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from banditore.sandbox.errors import webhook_error
from banditore.sandbox.state import OutboundMessage, SandboxState
from banditore.sandbox.webhooks import WebhookSender

log = logging.getLogger(__name__)

# Statuses only move forward; `failed` is terminal.
RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


class DelayQueues:
    """Deferred calls grouped by delay: one FIFO per distinct delay, one event-loop timer.

    Every message schedules up to three stages, so thousands of timers are pending at load.
    asyncio keeps timers in a heap whose comparisons run in Python; here calls with the same
    delay are due in arrival order, so a deque per delay and a single wake-up suffice.
    """

    def __init__(self) -> None:
        self._queues: dict[float, deque[tuple[float, Callable[..., None], tuple[Any, ...]]]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._wake_at = float("inf")

    def call_later(self, delay_s: float, callback: Callable[..., None], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + delay_s
        queue = self._queues.get(delay_s)
        if queue is None:
            queue = self._queues[delay_s] = deque()
        queue.append((due, callback, args))
        if due < self._wake_at:
            self._arm(loop, due)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._wake_at = when
        self._handle = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        self._handle, self._wake_at = None, float("inf")
        now = loop.time()
        for queue in list(self._queues.values()):
            while queue and queue[0][0] <= now:
                _, callback, args = queue.popleft()
                try:
                    callback(*args)
                except Exception:  # one bad stage must not stall every other message
                    log.exception("status timeline step failed")
        heads = [q[0][0] for q in self._queues.values() if q]
        if heads:
            self._arm(loop, min(heads))

    def cancel_all(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._wake_at = None, float("inf")
        self._queues.clear()


class Timeline:
    def __init__(self, state: SandboxState, sender: WebhookSender) -> None:
        self.state = state
        self.sender = sender
        self.rng = random.Random()
        self.delays = DelayQueues()

    def start(self, message: OutboundMessage, failure: tuple[int, str | None] | None) -> None:
        delay = self.state.config.webhooks.sent_after_ms / 1000
        self.delays.call_later(delay, self._first, message, failure)

    def _later(self, delay_ms: float, callback: Any, *args: Any) -> None:
        self.delays.call_later(delay_ms / 1000, callback, *args)

    def _first(self, message: OutboundMessage, failure: tuple[int, str | None] | None) -> None:
        cfg = self.state.config.webhooks
        if failure is not None:
            code, details = failure
            self.emit(message, "failed", errors=[webhook_error(code, details)])
            return
        rng = self.rng
        if cfg.out_of_order_probability and rng.random() < cfg.out_of_order_probability:
            # Meta does not guarantee order: `delivered` may overtake `sent` (reference §4.7).
            self.state.stats["statuses_out_of_order"] += 1
            self.emit(message, "delivered", pricing=True)
            self._later(min(cfg.delivered_after_ms, 20), self.emit, message, "sent", True)
            if rng.random() < cfg.read_probability:
                self._later(cfg.read_after_ms, self.emit, message, "read")
            return
        self.emit(message, "sent", pricing=True)
        if rng.random() < cfg.read_without_delivered_probability:
            # The user had the chat open: Meta sends `read` only, carrying the pricing.
            self._later(
                cfg.delivered_after_ms + cfg.read_after_ms, self.emit, message, "read", True
            )
        elif rng.random() < cfg.delivered_probability:
            self._later(cfg.delivered_after_ms, self._delivered, message)

    def _delivered(self, message: OutboundMessage) -> None:
        cfg = self.state.config.webhooks
        self.emit(message, "delivered", pricing=True)
        if self.rng.random() < cfg.read_probability:
            self._later(cfg.read_after_ms, self.emit, message, "read")

    def emit(
        self,
        message: OutboundMessage,
        status: str,
        pricing: bool = False,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        if message.status == "failed":
            return  # e.g. a reset or a fault marked it failed meanwhile
        if status == "read" and message.to in self.state.read_receipts_off:
            return  # the user turned read receipts off: Meta never reports `read`
        now = time.time()
        message.history.append((status, int(now)))
        if RANK[status] > RANK[message.status]:
            message.status = status
        if errors:
            message.errors = errors
        self.state.stats[f"status_{status}"] += 1
        if not self.sender.has_callback(message.phone_number_id):
            return
        self.sender.enqueue_status(
            message.phone_number_id, self.status_object(message, status, now, pricing, errors)
        )

    def status_object(
        self,
        message: OutboundMessage,
        status: str,
        now: float,
        pricing: bool,
        errors: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": message.id,
            "status": status,
            "timestamp": str(int(now)),
            "recipient_id": message.to,
        }
        if message.biz_opaque_callback_data is not None:
            obj["biz_opaque_callback_data"] = message.biz_opaque_callback_data
        if errors:
            obj["errors"] = errors
            return obj  # failed statuses carry neither pricing nor conversation
        if self.state.config.webhooks.include_conversation and status != "read" and message.pricing:
            conversation: dict[str, Any] = {
                "id": secrets.token_hex(16),
                "origin": {"type": message.pricing["category"]},
            }
            if status == "sent":
                conversation["expiration_timestamp"] = str(int(now) + 24 * 3600)
            obj["conversation"] = conversation
        if pricing and message.pricing:
            obj["pricing"] = message.pricing
        return obj
