"""The Telegram emulator's world, in memory: bots, citizens, channels, what each chat
received, files, the flood limits and each bot's updates. Imports none of its handlers."""

from __future__ import annotations

import itertools
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from banditore.sandbox.telegram.config import BotConfig, ChannelConfig, TelegramConfig
from banditore.sandbox.telegram.limits import FloodLimits
from banditore.sandbox.telegram.updates import UpdateQueue, WebhookSender

STAT_NAMES = (
    "sent",
    "channel_posts",
    "rate_limited_429",
    "forbidden_403",
    "bad_requests_400",
    "unauthorized_401",
    "inbound",
    "webhook_deliveries",
    "webhook_failed_attempts",
)


@dataclass
class Citizen:
    """A Telegram user. Their private chat with a bot has the user's id as chat id."""

    id: int
    first_name: str = "Cittadino"
    username: str | None = None
    language_code: str | None = "it"
    deactivated: bool = False
    # bot id → "member" (started it) or "kicked" (blocked it); absent: never started.
    status: dict[int, str] = field(default_factory=dict)

    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat


def bot_user(bot: BotConfig) -> dict[str, Any]:
    return {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username}


def channel_chat(channel: ChannelConfig) -> dict[str, Any]:
    return {
        "id": channel.id,
        "title": channel.title,
        "username": channel.username.lstrip("@"),
        "type": "channel",
    }


class TelegramSandbox:
    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.sender = WebhookSender(config.webhooks, self._new_stats())
        self.reset()

    def _new_stats(self) -> dict[str, int]:
        return dict.fromkeys(STAT_NAMES, 0)

    def reset(self) -> None:
        self.citizens: dict[int, Citizen] = {}
        # (bot id, chat id) → messages, oldest first; both directions, as Telegram numbers them.
        self.messages: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        self._message_ids: dict[tuple[int, int], itertools.count[int]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.queues: dict[int, UpdateQueue] = {}
        self.send_times: dict[int, deque[float]] = defaultdict(deque)
        self.sender.stats.update(self._new_stats())
        self.apply_config(self.config)

    def apply_config(self, config: TelegramConfig) -> None:
        self.config = config
        self.sender.config = config.webhooks
        limits = config.limits
        self.limits = FloodLimits(
            limits.per_bot_per_second, limits.per_chat_per_second, limits.per_channel_per_minute
        )
        self.bots = {bot.token: bot for bot in config.bots}
        for bot in config.bots:
            self.queues.setdefault(bot.id, UpdateQueue())

    @property
    def stats(self) -> dict[str, int]:
        return self.sender.stats

    # Lookups.

    def bot(self, ref: str | int | None) -> BotConfig | None:
        """By token, id or username (with or without "@"); None → the first bot."""
        if ref is None or ref == "":
            return self.config.bots[0] if self.config.bots else None
        text = str(ref).lstrip("@")
        for bot in self.config.bots:
            if text in (bot.token, str(bot.id), bot.username):
                return bot
        return None

    def channel(self, chat_id: str | int) -> ChannelConfig | None:
        text = str(chat_id)
        for channel in self.config.channels:
            if text.lower() in (channel.username.lower(), str(channel.id)):
                return channel
        return None

    def citizen(self, user_id: int) -> Citizen:
        citizen = self.citizens.get(user_id)
        if citizen is None:
            citizen = self.citizens[user_id] = Citizen(user_id)
        return citizen

    # Recording.

    def next_message_id(self, bot_id: int, chat_id: int) -> int:
        counter = self._message_ids.setdefault((bot_id, chat_id), itertools.count(1))
        return next(counter)

    def record(self, bot_id: int, chat_id: int, message: dict[str, Any], **extra: Any) -> None:
        self.messages[(bot_id, chat_id)].append({"message": message, **extra})

    def note_send(self, bot_id: int) -> None:
        now = time.monotonic()
        times = self.send_times[bot_id]
        times.append(now)
        while times and times[0] < now - 10.0:
            times.popleft()

    def rates(self) -> dict[str, dict[str, float]]:
        now = time.monotonic()
        view = {}
        for bot in self.config.bots:
            times = self.send_times.get(bot.id, deque())
            view[bot.username] = {
                "last_1s": float(sum(1 for t in times if t >= now - 1.0)),
                "last_10s_per_second": sum(1 for t in times if t >= now - 10.0) / 10.0,
            }
        return view

    def store_file(self, kind: str, **meta: Any) -> dict[str, Any]:
        file_id = f"{kind[:2].upper()}ACAgQAAx{secrets.token_urlsafe(24)}"
        stored = {
            "kind": kind,
            "file_id": file_id,
            "file_unique_id": secrets.token_urlsafe(12),
            **meta,
        }
        self.files[file_id] = stored
        return stored


TELEGRAM_KEY = web.AppKey("banditore_telegram_sandbox", TelegramSandbox)
