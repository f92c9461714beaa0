"""Telegram channel tests' shared pieces: the sandbox's bot as a channel's settings, a
Channel-like object for the transport, and an update receiver on a free local port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

from banditore.broadcasts.models import Delivery
from banditore.channels.base import Outgoing
from banditore.channels.telegram.config import TelegramConfig
from banditore.channels.telegram.transport import TelegramTransport
from banditore.sandbox.config import SandboxConfig
from banditore.sandbox.telegram import TelegramConfig as SandboxTelegram
from banditore.sandbox.telegram import WebhookConfig
from tests.sandbox.harness import run, running_sandbox, serving  # noqa: F401 (re-exported)

BOT = SandboxTelegram().bots[0]
PUBLIC_CHANNEL = SandboxTelegram().channels[0]
SECRET = "segreto_del-comune_42"
CITIZEN = 424242


def settings(url: str, **changes: Any) -> dict[str, Any]:
    """A channel's config for the sandbox's default bot, as an operator would save it."""
    return {
        "api_base_url": url,
        "bot_token": BOT.token,
        "bot_username": BOT.username,
        "webhook_secret": SECRET,
        "public_channel": PUBLIC_CHANNEL.username,
        **changes,
    }


def config(url: str, **changes: Any) -> TelegramConfig:
    return TelegramConfig.model_validate(settings(url, **changes))


def sandbox_config() -> SandboxConfig:
    # Webhook retries in milliseconds, so a refused update never holds a test up.
    webhooks = WebhookConfig(retry_initial_ms=20, retry_max_ms=100, timeout_s=2.0)
    return SandboxConfig(telegram=SandboxTelegram(webhooks=webhooks))


def transport(
    session: aiohttp.ClientSession, url: str, timeout: float = 5.0, **changes: Any
) -> TelegramTransport:
    channel = SimpleNamespace(pk=1, config=settings(url, **changes))
    return TelegramTransport(channel, session, timeout)


def outgoing(
    recipient: int | str = CITIZEN,
    text: str = "Ciao",
    kind: str = Delivery.Kind.REPLY,
    broadcast_id: int | None = None,
) -> Outgoing:
    return Outgoing(
        id=1,
        kind=kind,
        recipient=str(recipient),
        text=text,
        broadcast_id=broadcast_id,
        priority=1,
        attempts=0,
        created_at=datetime.now(UTC),
    )


async def start(sb, user: int = CITIZEN, text: str = "/start") -> dict[str, Any]:
    """The citizen opens the bot's chat (a bot may write only to those who did)."""
    return await sb.control("POST", "telegram/inbound", {"from": user, "text": text})


async def received(sb, chat_id: int = CITIZEN) -> list[dict[str, Any]]:
    return await sb.control("GET", f"telegram/messages?chat_id={chat_id}")


async def wait_until(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@dataclass
class Post:
    headers: Any
    body: bytes


@dataclass
class UpdateReceiver:
    url: str = ""
    posts: list[Post] = field(default_factory=list)


@asynccontextmanager
async def update_receiver() -> AsyncIterator[UpdateReceiver]:
    """Where the sandbox posts the bot's updates: it keeps each body's exact bytes."""
    receiver = UpdateReceiver()

    async def handle(request: web.Request) -> web.Response:
        receiver.posts.append(Post(request.headers, await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/telegram/1", handle)
    async with serving(app) as url:
        receiver.url = f"{url}/webhooks/telegram/1"
        yield receiver


@asynccontextmanager
async def answering(
    status: int, body: bytes, content_type: str = "text/html"
) -> AsyncIterator[str]:
    """A server that answers every request with one status and body (a broken proxy, a
    Telegram outage): its base URL."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serving(app) as url:
        yield url
