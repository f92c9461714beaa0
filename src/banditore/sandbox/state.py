"""Everything the sandbox remembers while it runs: numbers and their limiters, who wrote when
(24 h windows), what each citizen received, templates and media. All in memory, on purpose:
a restart is a clean slate, and `POST /_sandbox/reset` is the same without the restart."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from banditore.sandbox.config import TIER_LIMITS, NumberConfig, SandboxConfig
from banditore.sandbox.media import MediaStore
from banditore.sandbox.phones import normalise_lenient
from banditore.sandbox.ratelimit import PairLimiter, TokenBucket
from banditore.sandbox.templates import TemplateRegistry


@dataclass(slots=True)
class OutboundMessage:
    """One message a business sent to a citizen, as the citizen's phone would show it."""

    id: str
    phone_number_id: str
    to: str  # digits
    type: str
    text: str
    timestamp: float
    status: str = "accepted"
    template: str | None = None
    language: str | None = None
    category: str | None = None
    header: str | None = None
    footer: str | None = None
    media: dict[str, Any] | None = None
    context_id: str | None = None
    biz_opaque_callback_data: str | None = None
    pricing: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    history: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "to": "+" + self.to,
            "type": self.type,
            "text": self.text,
            "status": self.status,
            "timestamp": int(self.timestamp),
            "statuses": [{"status": s, "timestamp": t} for s, t in self.history],
        }
        if self.template is not None:
            # As at send time: a later re-categorisation does not rewrite what was sent.
            out["template"] = self.template
            out["language"] = self.language
            out["category"] = self.category
        if self.pricing is not None and self.status != "failed":
            # What the status webhooks report it was billed as; a failed message costs nothing
            # and its webhook carries no pricing, so neither does this view.
            out["pricing"] = self.pricing
        for key in (
            "header",
            "footer",
            "media",
            "context_id",
            "biz_opaque_callback_data",
            "errors",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(slots=True)
class InboundMessage:
    """One message a citizen wrote to a business."""

    id: str
    phone_number_id: str
    sender: str  # digits
    name: str
    type: str
    text: str
    timestamp: float
    read: bool = False
    context_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "from": "+" + self.sender,
            "name": self.name,
            "type": self.type,
            "text": self.text,
            "timestamp": int(self.timestamp),
            "read": self.read,
        }
        if self.context_id:
            out["context_id"] = self.context_id
        return out


class NumberState:
    """One business number: its config plus the limiters and windows that belong to it."""

    def __init__(self, config: NumberConfig, sandbox: SandboxConfig) -> None:
        self.config = config
        self.windows: dict[str, float] = {}  # wa_id → time of the last inbound message
        # Unique recipients messaged outside an open window, with the last such time (tier).
        self.business_initiated: dict[str, float] = {}
        self.marketing_sent: dict[str, deque[float]] = {}
        self.configure(config, sandbox)

    def configure(self, config: NumberConfig, sandbox: SandboxConfig) -> None:
        self.config = config
        limits = sandbox.limits
        self.mps = config.mps or limits.mps
        self.bucket = TokenBucket(self.mps, max(1.0, self.mps * limits.throughput_burst_seconds))
        self.pairs = PairLimiter(limits.pair_interval_s, limits.pair_burst)
        self.tier = config.messaging_limit_tier or limits.messaging_limit_tier
        self.callback_url = (
            config.callback_url if config.callback_url is not None else sandbox.callback_url
        )

    def window_open(self, wa_id: str, now: float, window_seconds: float) -> bool:
        last = self.windows.get(wa_id)
        return last is not None and now - last < window_seconds

    def tier_allows(self, wa_id: str, now: float) -> bool:
        """True if messaging `wa_id` outside a window fits in the rolling-24 h tier."""
        limit = TIER_LIMITS[self.tier]
        if limit is None or wa_id in self.business_initiated:
            return True
        if len(self.business_initiated) >= limit:
            cutoff = now - 24 * 3600
            for key in [k for k, t in self.business_initiated.items() if t < cutoff]:
                del self.business_initiated[key]
        return len(self.business_initiated) < limit

    def marketing_allows(self, wa_id: str, now: float, cap: int) -> bool:
        if cap <= 0:
            return True
        sent = self.marketing_sent.setdefault(wa_id, deque())
        while sent and now - sent[0] > 24 * 3600:
            sent.popleft()
        return len(sent) < cap

    def note_marketing(self, wa_id: str, now: float) -> None:
        self.marketing_sent.setdefault(wa_id, deque()).append(now)

    def reset(self, sandbox: SandboxConfig) -> None:
        self.windows.clear()
        self.business_initiated.clear()
        self.marketing_sent.clear()
        self.configure(self.config, sandbox)


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.numbers: dict[str, NumberState] = {
            n.phone_number_id: NumberState(n, config) for n in config.numbers
        }
        self.templates = TemplateRegistry(config.templates)
        self.media = MediaStore()
        self.outbound: dict[str, list[OutboundMessage]] = {}
        self.outbound_by_id: dict[str, OutboundMessage] = {}
        self._outbound_order: deque[OutboundMessage] = deque()
        self.inbound: dict[str, list[InboundMessage]] = {}
        self.inbound_by_id: dict[str, InboundMessage] = {}
        self._profiles(config)
        self.stats: Counter[str] = Counter()
        self.started_at = time.time()

    def _profiles(self, config: SandboxConfig) -> None:
        """Per-recipient facts from the config, as sets of digits for O(1) checks."""
        limits = config.limits

        def digits(numbers: list[str]) -> set[str]:
            return {normalise_lenient(n) for n in numbers}

        self.not_on_whatsapp = digits(limits.not_on_whatsapp)
        self.marketing_opted_out = digits(limits.marketing_opted_out)
        self.experiment_group = digits(limits.experiment_group)
        self.read_receipts_off = digits(limits.read_receipts_off)

    def number_for_waba(self, waba_id: str) -> list[NumberState]:
        return [n for n in self.numbers.values() if n.config.waba_id == waba_id]

    def wabas(self) -> set[str]:
        return {n.config.waba_id for n in self.numbers.values()}

    def apply_config(self, config: SandboxConfig) -> None:
        """Switch to a new config at run time, keeping windows, messages and media."""
        self.config = config
        seen = set()
        for number_config in config.numbers:
            seen.add(number_config.phone_number_id)
            number = self.numbers.get(number_config.phone_number_id)
            if number is None:
                self.numbers[number_config.phone_number_id] = NumberState(number_config, config)
            else:
                number.configure(number_config, config)
        for phone_number_id in list(self.numbers):
            if phone_number_id not in seen:
                del self.numbers[phone_number_id]
        self._profiles(config)

    def record_outbound(self, message: OutboundMessage) -> None:
        self.outbound.setdefault(message.to, []).append(message)
        self.outbound_by_id[message.id] = message
        self._outbound_order.append(message)
        if len(self._outbound_order) > self.config.max_stored_messages:
            oldest = self._outbound_order.popleft()
            self.outbound_by_id.pop(oldest.id, None)
            items = self.outbound.get(oldest.to)
            if items:
                items.remove(oldest)
                if not items:
                    del self.outbound[oldest.to]

    def record_inbound(self, message: InboundMessage) -> None:
        self.inbound.setdefault(message.sender, []).append(message)
        self.inbound_by_id[message.id] = message

    def reset(self) -> None:
        """Forget messages, windows, buckets, media and templates made through the API."""
        self.templates = TemplateRegistry(self.config.templates)
        for number in self.numbers.values():
            number.reset(self.config)
        self.media.clear()
        self.outbound.clear()
        self.outbound_by_id.clear()
        self._outbound_order.clear()
        self.inbound.clear()
        self.inbound_by_id.clear()
        self.stats.clear()
