"""A local emulator of the Telegram Bot API (https://core.telegram.org/bots/api), of its
webhook sender and of citizens' Telegram apps. Pure aiohttp, no Django, state in memory.

`add_routes(app, config)` puts it on an existing aiohttp application: `/bot<token>/<method>`
and the control API under `/_sandbox/telegram/` (README.md beside this file).
"""

from __future__ import annotations

from aiohttp import web

from banditore.sandbox.telegram import page
from banditore.sandbox.telegram.api import bot_method
from banditore.sandbox.telegram.config import (
    BotConfig,
    ChannelConfig,
    LimitsConfig,
    TelegramConfig,
    WebhookConfig,
)
from banditore.sandbox.telegram.control import add_control_routes
from banditore.sandbox.telegram.state import TELEGRAM_KEY, TelegramSandbox

__all__ = [
    "TELEGRAM_KEY",
    "BotConfig",
    "ChannelConfig",
    "LimitsConfig",
    "TelegramConfig",
    "TelegramSandbox",
    "WebhookConfig",
    "add_routes",
]


def add_routes(app: web.Application, config: TelegramConfig | None = None) -> TelegramSandbox:
    """Register the Bot API, the control API and the webhook sender's start/stop on `app`."""
    sandbox = TelegramSandbox(config or TelegramConfig())
    app[TELEGRAM_KEY] = sandbox

    async def start_sender(_: web.Application) -> None:
        await sandbox.sender.start()

    async def stop_sender(_: web.Application) -> None:
        await sandbox.sender.stop()

    app.on_startup.append(start_sender)
    app.on_cleanup.append(stop_sender)
    app.router.add_route("GET", "/bot{token}/{method}", bot_method)
    app.router.add_route("POST", "/bot{token}/{method}", bot_method)
    app.router.add_get("/_sandbox/telegram/", page.index)
    app.router.add_get("/_sandbox/telegram", page.redirect_to_index)
    add_control_routes(app)
    return sandbox
