"""Meta's webhook sender: payload shapes (reference §4.4–4.5), byte-exact serialisation and
signing (§4.3), and a background queue that POSTs to the business's callback URL with retries
(§4.7) so that the API request path never waits for a webhook."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from banditore.sandbox.ids import bsuid
from banditore.sandbox.state import SandboxState

log = logging.getLogger(__name__)


def meta_json_bytes(payload: dict[str, Any]) -> bytes:
    """Serialise like Meta: compact, ASCII-only (`\\uXXXX`), with `/` escaped as `\\/`.

    Receivers must verify the signature on these exact bytes; re-serialising parsed JSON does
    not reproduce them, which is the mistake this fidelity is meant to catch.
    """
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def signature_header(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def envelope(
    waba_id: str, value: dict[str, Any], field_name: str = "messages", entry_time: int | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": waba_id}
    if entry_time is not None:
        entry["time"] = entry_time  # non-`messages` fields carry it (reference §4.4)
    entry["changes"] = [{"value": value, "field": field_name}]
    return {"object": "whatsapp_business_account", "entry": [entry]}


def messages_value(
    display_phone_number: str,
    phone_number_id: str,
    key: str,
    items: list[dict[str, Any]],
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts:
        value["contacts"] = contacts
    value[key] = items
    return value


@dataclass(slots=True)
class WebhookJob:
    """One POST to make: `items` go under `value[key]` of one number's notification."""

    phone_number_id: str
    key: str  # "statuses" or "messages"
    items: list[dict[str, Any]]
    contacts: list[dict[str, Any]] | None = None
    attempt: int = 0
    # For fields other than `messages` (e.g. message_template_status_update): the whole value.
    field_name: str = "messages"
    value: dict[str, Any] | None = None
    entry_time: int | None = None
    first_try: float = field(default_factory=time.monotonic)
    generation: int = 0


class WebhookSender:
    """Queue + worker tasks. Statuses can be batched per number (`batch_max` > 1)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.queue: asyncio.Queue[WebhookJob] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._pending_statuses: dict[str, list[dict[str, Any]]] = {}
        self._flush_handles: dict[str, asyncio.TimerHandle] = {}
        self._in_flight = 0
        self._retrying = 0
        # Bumped by clear(): jobs from before a reset are dropped instead of delivered.
        self.generation = 0
        self.rng = random.Random()

    async def start(self) -> None:
        cfg = self.state.config.webhooks
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=cfg.concurrency * 2),
            timeout=aiohttp.ClientTimeout(total=cfg.timeout_s),
            headers={"User-Agent": "facebookexternalua"},
        )
        self._workers = [asyncio.create_task(self._work()) for _ in range(cfg.concurrency)]

    async def stop(self) -> None:
        for handle in self._flush_handles.values():
            handle.cancel()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def idle(self) -> bool:
        return (
            self.queue.empty()
            and not self._in_flight
            and not self._retrying
            and not self._pending_statuses
        )

    def clear(self) -> None:
        """Forget queued, batched and retrying webhooks (for `/_sandbox/reset`)."""
        self.generation += 1
        for handle in self._flush_handles.values():
            handle.cancel()
        self._flush_handles.clear()
        self._pending_statuses.clear()
        while not self.queue.empty():
            self.queue.get_nowait()

    def _put(self, job: WebhookJob) -> None:
        job.generation = self.generation
        self.queue.put_nowait(job)

    # --- enqueueing ------------------------------------------------------------------------

    def has_callback(self, phone_number_id: str) -> bool:
        # Without a callback URL Meta sends nothing; skipping here keeps the queue (and the
        # benchmark's CPU) free of work that would be thrown away.
        number = self.state.numbers.get(phone_number_id)
        if number is None or not number.callback_url:
            self.state.stats["webhooks_without_callback"] += 1
            return False
        return True

    def enqueue_status(self, phone_number_id: str, status: dict[str, Any]) -> None:
        if not self.has_callback(phone_number_id):
            return
        batch_max = self.state.config.webhooks.batch_max
        if batch_max <= 1:
            self._put(WebhookJob(phone_number_id, "statuses", [status]))
            return
        pending = self._pending_statuses.setdefault(phone_number_id, [])
        pending.append(status)
        if len(pending) >= batch_max:
            self._flush(phone_number_id)
        elif phone_number_id not in self._flush_handles:
            delay = self.state.config.webhooks.batch_window_ms / 1000
            loop = asyncio.get_running_loop()
            self._flush_handles[phone_number_id] = loop.call_later(
                delay, self._flush, phone_number_id
            )

    def _flush(self, phone_number_id: str) -> None:
        handle = self._flush_handles.pop(phone_number_id, None)
        if handle is not None:
            handle.cancel()
        items = self._pending_statuses.pop(phone_number_id, None)
        if items:
            self._put(WebhookJob(phone_number_id, "statuses", items))

    def enqueue_message(
        self, phone_number_id: str, message: dict[str, Any], contact: dict[str, Any]
    ) -> None:
        if self.has_callback(phone_number_id):
            self._put(WebhookJob(phone_number_id, "messages", [message], [contact]))

    def enqueue_field(
        self, waba_id: str, field_name: str, value: dict[str, Any], entry_time: int
    ) -> None:
        numbers = self.state.number_for_waba(waba_id)
        if not numbers:
            return
        job = WebhookJob(numbers[0].config.phone_number_id, "", [], field_name=field_name)
        job.value, job.entry_time = value, entry_time
        self._put(job)

    # --- sending ---------------------------------------------------------------------------

    def build_body(self, job: WebhookJob) -> bytes | None:
        number = self.state.numbers.get(job.phone_number_id)
        if number is None:
            return None
        if job.value is not None:
            return meta_json_bytes(
                envelope(number.config.waba_id, job.value, job.field_name, job.entry_time)
            )
        contacts = job.contacts
        if job.key == "statuses" and self.state.config.webhooks.user_ids:
            contacts = self._status_contacts(number.config.waba_id, job.items)
        value = messages_value(
            number.config.display_phone_number, job.phone_number_id, job.key, job.items, contacts
        )
        return meta_json_bytes(envelope(number.config.waba_id, value))

    def _status_contacts(
        self, waba_id: str, statuses: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        with_failed = self.state.config.webhooks.contacts_on_failed
        seen: dict[str, dict[str, Any]] = {}
        for status in statuses:
            wa_id = status["recipient_id"]
            if wa_id not in seen and (with_failed or status["status"] != "failed"):
                seen[wa_id] = {"wa_id": wa_id, "user_id": bsuid(waba_id, wa_id)}
        return list(seen.values())

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            self._in_flight += 1
            try:
                await self._deliver(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not kill the worker
                log.exception("webhook delivery crashed")
            finally:
                self._in_flight -= 1

    async def _deliver(self, job: WebhookJob) -> None:
        if job.generation != self.generation:
            return
        number = self.state.numbers.get(job.phone_number_id)
        url = number.callback_url if number is not None else ""
        body = self.build_body(job)
        stats = self.state.stats
        if not url or body is None:
            stats["webhooks_without_callback"] += 1
            return
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_header(body, self.state.config.app_secret),
        }
        ok = False
        assert self._session is not None
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("webhook to %s failed: %s", url, exc)
        if ok:
            stats["webhooks_delivered"] += 1
            duplicate = self.state.config.webhooks.duplicate_probability
            if duplicate and job.attempt == 0 and self.rng.random() < duplicate:
                # At-least-once delivery: Meta repeats notifications; so does the sandbox.
                stats["webhooks_duplicated"] += 1
                self.queue.put_nowait(dataclasses.replace(job, attempt=1))
            return
        stats["webhooks_failed_attempts"] += 1
        self._retry(job)

    def _retry(self, job: WebhookJob) -> None:
        cfg = self.state.config.webhooks
        delay = min(cfg.retry_max_ms, cfg.retry_initial_ms * 2**job.attempt) / 1000
        if time.monotonic() + delay - job.first_try > cfg.retry_horizon_s:
            self.state.stats["webhooks_dropped"] += 1
            log.warning("webhook dropped after %d attempts", job.attempt + 1)
            return
        job.attempt += 1
        self._retrying += 1
        asyncio.get_running_loop().call_later(delay, self._requeue, job)

    def _requeue(self, job: WebhookJob) -> None:
        self._retrying -= 1
        if job.generation == self.generation:
            self.queue.put_nowait(job)
