"""Each bot's updates: a queue Telegram keeps until they are confirmed, served by getUpdates
(long polling) or POSTed one at a time, in order, to the bot's webhook.

Telegram keeps an update pending while the webhook answers anything but 2xx and tries it again
later; later updates wait behind it. The emulator does the same, with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from banditore.sandbox.telegram.config import WebhookConfig

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Telegram's default when setWebhook/getUpdates name no allowed_updates: everything but these.
NOT_SENT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str = "127.0.0.1"
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class UpdateQueue:
    """One bot's pending updates, oldest first."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: list[str] | None = None
    webhook: Webhook | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def wanted(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in NOT_SENT_BY_DEFAULT

    def add(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update (None if the bot did not ask for this kind)."""
        if not self.wanted(kind):
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.pending.append(update)
        self.arrived.set()
        return update

    def confirm_before(self, offset: int) -> None:
        """getUpdates' offset: every update with a smaller id is confirmed and forgotten."""
        self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def take(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        if offset is not None and offset < 0:
            # A negative offset counts from the end, and forgets everything before.
            self.pending = self.pending[offset:] if -offset < len(self.pending) else self.pending
            return self.pending[:limit]
        if offset is not None:
            self.confirm_before(offset)
        return self.pending[:limit]

    def drop_pending(self) -> None:
        self.pending.clear()


class WebhookSender:
    """One task per bot with a webhook; each POSTs that bot's oldest update until a 2xx."""

    def __init__(self, config: WebhookConfig, stats: dict[str, int]) -> None:
        self.config = config
        self.stats = stats
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_s)
        )

    async def stop(self) -> None:
        for bot_id in list(self._tasks):
            await self.forget(bot_id)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def watch(self, bot_id: int, queue: UpdateQueue) -> None:
        if bot_id not in self._tasks or self._tasks[bot_id].done():
            self._tasks[bot_id] = asyncio.get_running_loop().create_task(self._run(queue))

    async def forget(self, bot_id: int) -> None:
        task = self._tasks.pop(bot_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, queue: UpdateQueue) -> None:
        delay = self.config.retry_initial_ms / 1000
        while queue.webhook is not None:
            if not queue.pending:
                queue.arrived.clear()
                await queue.arrived.wait()
                continue
            update = queue.pending[0]
            error = await self._post(queue.webhook, update)
            if error is None:
                # Removed by identity: drop_pending or a reset may have emptied the queue.
                if queue.pending and queue.pending[0] is update:
                    queue.pending.pop(0)
                self.stats["webhook_deliveries"] += 1
                delay = self.config.retry_initial_ms / 1000
                continue
            self.stats["webhook_failed_attempts"] += 1
            if queue.webhook is not None:
                queue.webhook.last_error_date = int(time.time())
                queue.webhook.last_error_message = error
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max_ms / 1000)

    async def _post(self, webhook: Webhook, update: dict[str, Any]) -> str | None:
        """None on a 2xx; else the text getWebhookInfo shows as last_error_message."""
        assert self._session is not None, "the sender was not started"
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.post(webhook.url, data=body, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientError as exc:
            log.debug("webhook %s unreachable: %s", webhook.url, exc)
            return "Connection refused"
