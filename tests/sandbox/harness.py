"""Test harness: a real sandbox on a free 127.0.0.1 port, a real webhook receiver, and an
aiohttp client. No mocks: every test goes through HTTP like production does."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from banditore.sandbox import defaults
from banditore.sandbox.app import SANDBOX_KEY, Sandbox, build_app
from banditore.sandbox.config import SandboxConfig, merge_config

PHONE_ID = defaults.PHONE_NUMBER_ID
TOKEN = defaults.ACCESS_TOKEN
CITIZEN = "+393331234567"

# Compressed timeline so that webhook tests finish in milliseconds.
FAST = {
    "webhooks": {
        "sent_after_ms": 5,
        "delivered_after_ms": 10,
        "read_after_ms": 10,
        "retry_initial_ms": 20,
        "retry_max_ms": 100,
        "retry_horizon_s": 5,
    }
}


def run(coro_fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Turn `async def test_it_...()` into a plain pytest test (no plugin needed)."""

    def test() -> None:
        asyncio.run(coro_fn())

    test.__name__ = coro_fn.__name__
    test.__doc__ = coro_fn.__doc__
    return test


def text_body(to: str = CITIZEN, body: str = "Ciao", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }


def template_body(
    to: str = CITIZEN, params: list[str] | None = None, **template: Any
) -> dict[str, Any]:
    params = ["Comune di Esempio", "Domani le scuole restano chiuse."] if params is None else params
    tpl: dict[str, Any] = {
        "name": defaults.TEMPLATE_NAME,
        "language": {"code": defaults.TEMPLATE_LANGUAGE},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ],
    }
    tpl.update(template)
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": tpl}


@dataclass
class Reply:
    status: int
    json: Any
    headers: Any


@dataclass
class SandboxUnderTest:
    url: str
    session: aiohttp.ClientSession
    sandbox: Sandbox

    async def request(
        self, method: str, path: str, *, token: str | None = TOKEN, **kwargs: Any
    ) -> Reply:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, self.url + path, headers=headers, **kwargs) as r:
            raw = await r.read()
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = raw
            return Reply(r.status, data, r.headers)

    async def send(
        self,
        body: Any,
        *,
        phone_id: str = PHONE_ID,
        token: str | None = TOKEN,
        version: str = "v23.0",
    ) -> Reply:
        prefix = f"/{version}" if version else ""
        return await self.request("POST", f"{prefix}/{phone_id}/messages", token=token, json=body)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        reply = await self.request(method, "/_sandbox/" + path, token=None, json=body)
        assert reply.status == 200, reply.json
        return reply.json

    async def inbound(self, sender: str = CITIZEN, text: str = "ISCRIVIMI", **extra: Any) -> str:
        return (await self.control("POST", "inbound", {"from": sender, "text": text, **extra}))[
            "id"
        ]

    async def received(self, to: str = CITIZEN) -> list[dict[str, Any]]:
        return await self.control("GET", f"messages?to={to.replace('+', '%2B')}")

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.01)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp application on a free local port for the block's duration: its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None, **patch: Any
) -> AsyncIterator[SandboxUnderTest]:
    config = (
        merge_config(config or SandboxConfig(), patch) if patch else (config or SandboxConfig())
    )
    app = build_app(config)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        yield SandboxUnderTest(url, session, app[SANDBOX_KEY])


@dataclass
class ReceivedWebhook:
    headers: Any
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    def signature_ok(self, secret: str = defaults.APP_SECRET) -> bool:
        header = self.headers.get("X-Hub-Signature-256", "")
        digest = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest("sha256=" + digest, header)


@dataclass
class WebhookReceiver:
    url: str
    received: list[ReceivedWebhook] = field(default_factory=list)
    # Statuses to answer with, consumed one per request; then 200.
    answers: list[int] = field(default_factory=list)

    def statuses(self) -> list[dict[str, Any]]:
        return [
            s
            for w in self.received
            for e in w.payload["entry"]
            for c in e["changes"]
            for s in c["value"].get("statuses", [])
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [
            m
            for w in self.received
            for e in w.payload["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    def statuses_of(self, wamid: str) -> list[str]:
        return [s["status"] for s in self.statuses() if s["id"] == wamid]


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        status = receiver.answers.pop(0) if receiver.answers else 200
        if status == 200:
            receiver.received.append(ReceivedWebhook(request.headers, body))
        return web.Response(status=status, text="ok")

    async def handshake(request: web.Request) -> web.Response:
        # Meta's GET verification, answered like a correct webhook endpoint does.
        query = request.query
        if (
            query.get("hub.mode") == "subscribe"
            and query.get("hub.verify_token") == defaults.VERIFY_TOKEN
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.Response(status=403, text="forbidden")

    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", handle)
    app.router.add_get("/webhooks/whatsapp", handshake)
    async with serving(app) as url:
        receiver.url = f"{url}/webhooks/whatsapp"
        yield receiver
