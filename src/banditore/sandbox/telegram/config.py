"""The Telegram emulator's knobs, with Telegram's own numbers as defaults.

Limits: reference/pricing-and-limits.md (about 30 messages/s per bot, 1/s per chat, 20/minute
per group or channel). Webhook retries: Telegram keeps an undelivered update pending and tries
again later; the backoff numbers here are ours (Telegram does not publish its own).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BotConfig:
    token: str
    id: int
    username: str
    first_name: str = "Comune di Esempio"
    can_join_groups: bool = False
    can_read_all_group_messages: bool = False
    supports_inline_queries: bool = False


@dataclass
class ChannelConfig:
    username: str  # with the leading "@"
    id: int  # -100…, as Telegram numbers channels
    title: str = "Comune di Esempio - Avvisi"
    followers: int = 1000


@dataclass
class LimitsConfig:
    enabled: bool = True
    per_bot_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_channel_per_minute: float = 20.0


@dataclass
class WebhookConfig:
    retry_initial_ms: int = 1000
    retry_max_ms: int = 60_000
    timeout_s: float = 10.0


def default_bots() -> list[BotConfig]:
    return [BotConfig(token="123456789:sandbox-telegram-token", id=123456789, username="ComuneBot")]


def default_channels() -> list[ChannelConfig]:
    return [ChannelConfig(username="@comune_avvisi", id=-1001234567890)]


@dataclass
class TelegramConfig:
    bots: list[BotConfig] = field(default_factory=default_bots)
    channels: list[ChannelConfig] = field(default_factory=default_channels)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    # getUpdates' `timeout` is capped here so a test never hangs on a long poll.
    max_poll_timeout_s: float = 50.0

    def view(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def merge_config(config: TelegramConfig, patch: dict[str, Any]) -> TelegramConfig:
    """A copy of `config` with `patch` applied: bots merge by token, channels by username,
    `limits` and `webhooks` key by key. Raises ValueError for an unknown key."""
    merged = dataclasses.replace(
        config,
        bots=list(config.bots),
        channels=list(config.channels),
        limits=dataclasses.replace(config.limits),
        webhooks=dataclasses.replace(config.webhooks),
    )
    for key, value in patch.items():
        if key == "bots":
            merged.bots = _merge_by(merged.bots, value, "token", BotConfig)
        elif key == "channels":
            merged.channels = _merge_by(merged.channels, value, "username", ChannelConfig)
        elif key in ("limits", "webhooks"):
            section = getattr(merged, key)
            for name, item in dict(value).items():
                if not hasattr(section, name):
                    raise ValueError(f"unknown setting {key}.{name}")
                setattr(section, name, item)
        elif key == "max_poll_timeout_s":
            merged.max_poll_timeout_s = float(value)
        else:
            raise ValueError(f"unknown setting {key}")
    return merged


def _merge_by(items: list[Any], patch: list[dict[str, Any]], key: str, kind: type) -> list[Any]:
    by_key = {getattr(item, key): item for item in items}
    for entry in patch:
        old = by_key.get(entry[key])
        by_key[entry[key]] = dataclasses.replace(old, **entry) if old else kind(**entry)
    return list(by_key.values())
