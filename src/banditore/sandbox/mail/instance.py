"""The mail sink's one shared object, held by the aiohttp app; every handler reads it here
(this module imports no handler, so none imports the app back)."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
from aiohttp import web

from banditore.sandbox.mail.config import MailConfig
from banditore.sandbox.mail.sink import start_server
from banditore.sandbox.mail.store import MailStore


class MailSandbox:
    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self.store = MailStore(max_messages=config.max_stored_messages)
        self.server: asyncio.Server | None = None
        self.session: aiohttp.ClientSession | None = None
        # Postmark's numeric bounce/complaint ids.
        self.event_ids = itertools.count(1)
        self.webhooks_sent = 0

    @property
    def smtp_port(self) -> int:
        if self.server is None:
            raise RuntimeError("the SMTP sink is not running (the app has not started)")
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.server = await start_server(self.config, self.store)
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        if self.session is not None:
            await self.session.close()
            self.session = None

    def reset(self) -> None:
        self.store.reset()
        self.webhooks_sent = 0


MAIL_KEY = web.AppKey("banditore_mail_sandbox", MailSandbox)
