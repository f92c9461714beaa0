"""A Telegram sandbox on a free 127.0.0.1 port (on a bare aiohttp app, as the lead's build_app
will host it), a webhook receiver, and a client. Real HTTP throughout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from banditore.sandbox.telegram import (
    LimitsConfig,
    TelegramConfig,
    TelegramSandbox,
    WebhookConfig,
    add_routes,
)
from tests.sandbox.harness import run, serving  # noqa: F401 (run: re-exported for the test modules)

TOKEN = TelegramConfig().bots[0].token
CHANNEL = TelegramConfig().channels[0].username
CITIZEN = 424242

FAST_WEBHOOKS = WebhookConfig(retry_initial_ms=20, retry_max_ms=100, timeout_s=2.0)


def config(limits: bool = False) -> TelegramConfig:
    """Fast webhook retries; flood limits off unless a test is about them (most tests send
    to one chat more than once a second)."""
    return TelegramConfig(webhooks=FAST_WEBHOOKS, limits=LimitsConfig(enabled=limits))


@dataclass
class Answer:
    status: int
    json: Any


@dataclass
class TelegramUnderTest:
    url: str
    session: aiohttp.ClientSession
    sandbox: TelegramSandbox

    async def call(self, method: str, token: str = TOKEN, **params: Any) -> Answer:
        """A Bot API call with a JSON body, as most clients make it."""
        async with self.session.post(f"{self.url}/bot{token}/{method}", json=params) as r:
            return Answer(r.status, await r.json())

    async def call_form(self, method: str, data: Any, token: str = TOKEN) -> Answer:
        async with self.session.post(f"{self.url}/bot{token}/{method}", data=data) as r:
            return Answer(r.status, await r.json())

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.url}/_sandbox/telegram/{path}"
        async with self.session.request(method, url, json=body) as r:
            data = await r.json()
            assert r.status == 200, data
            return data

    async def start(self, user: int = CITIZEN, text: str = "/start") -> Any:
        return await self.control("POST", "inbound", {"from": user, "text": text})

    async def received(self, chat_id: int = CITIZEN) -> list[dict[str, Any]]:
        return await self.control("GET", f"messages?chat_id={chat_id}")


@asynccontextmanager
async def running_telegram(
    settings: TelegramConfig | None = None,
) -> AsyncIterator[TelegramUnderTest]:
    app = web.Application()
    sandbox = add_routes(app, settings or config())
    async with serving(app) as url, aiohttp.ClientSession() as session:
        yield TelegramUnderTest(url, session, sandbox)


@dataclass
class Delivery:
    headers: Any
    update: dict[str, Any]


@dataclass
class UpdateReceiver:
    url: str = ""
    received: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    # Statuses to answer with, one per request; then 200.
    answers: list[int] = field(default_factory=list)


@asynccontextmanager
async def update_receiver() -> AsyncIterator[UpdateReceiver]:
    receiver = UpdateReceiver()

    async def handle(request: web.Request) -> web.Response:
        receiver.attempts += 1
        body = await request.read()
        status = receiver.answers.pop(0) if receiver.answers else 200
        if status == 200:
            receiver.received.append(Delivery(request.headers, json.loads(body)))
        return web.Response(status=status, text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/telegram", handle)
    async with serving(app) as url:
        receiver.url = f"{url}/webhooks/telegram"
        yield receiver
