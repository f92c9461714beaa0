"""A real mail sink (SMTP and HTTP on free 127.0.0.1 ports), a real receiver for its
webhooks and unsubscribe clicks, and smtplib run off the loop the way Django's backend runs."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiohttp
from aiohttp import web

from banditore.sandbox.mail import MailConfig, MailSandbox, add_routes
from tests.sandbox.harness import serving

SENDER = "notizie@comune.example.it"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Stands in for Banditore: records every request, answers `status`."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Mail:
    sandbox: MailSandbox
    http: aiohttp.ClientSession
    base: str
    receiver: Receiver

    @property
    def smtp_port(self) -> int:
        return self.sandbox.smtp_port

    async def get(self, path: str, **params: str) -> Any:
        async with self.http.get(self.base + path, params=params) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.http.post(self.base + path, json=body) as r:
            return r.status, await r.json()

    async def send(self, message: EmailMessage, **login: str) -> dict[str, tuple[int, bytes]]:
        """smtplib.send_message in a thread; returns smtplib's refused-recipients dict."""

        def blocking() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
                if login:
                    smtp.login(login["user"], login["password"])
                return smtp.send_message(message)

        return await asyncio.to_thread(blocking)


@asynccontextmanager
async def mail_sandbox(receiver_userinfo: str = "", **config: Any) -> AsyncIterator[Mail]:
    """`receiver_userinfo` ("user:pass") goes into the callback URL, as Postmark's UI does."""
    receiver = Receiver(url="")

    async def record(request: web.Request) -> web.Response:
        receiver.requests.append(
            Received(request.method, request.path, dict(request.headers), await request.read())
        )
        return web.Response(status=receiver.status, text="ok", headers=receiver.response_headers)

    receiver_app = web.Application()
    receiver_app.router.add_route("*", "/{tail:.*}", record)
    async with serving(receiver_app) as receiver.url:
        userinfo = f"{receiver_userinfo}@" if receiver_userinfo else ""
        callback = receiver.url.replace("http://", "http://" + userinfo, 1)
        config.setdefault("callback_url", callback + "/anymail/postmark/tracking/")
        config.setdefault("port", 0)
        app = web.Application()
        sandbox = add_routes(app, MailConfig(**config))
        async with serving(app) as base, aiohttp.ClientSession() as http:
            yield Mail(sandbox, http, base + "/_sandbox/mail", receiver)


def news_message(to: list[str], subject: str = "Strada chiusa", **headers: str) -> EmailMessage:
    """A broadcast as Banditore will send it: text + HTML, RFC 8058 headers."""
    msg = EmailMessage()
    msg["From"] = f"Comune di Esempio <{SENDER}>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = "<b1.d42@comune.example.it>"
    msg["List-Unsubscribe"] = "<https://comune.example.it/u/abc>, <mailto:u@comune.example.it>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Via Roma chiusa giovedì.\n")
    msg.add_alternative("<p>Via Roma <b>chiusa</b> giovedì.</p>", subtype="html")
    return msg
